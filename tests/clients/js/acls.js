// kafkajs's ACL admin over SASL PLAIN as alice, on a broker where everyone may do what no ACL covers:
// createAcls (bob denied everything on TOPIC, alice allowed everything), describeAcls of TOPIC, TOPIC's
// metadata and a producer as bob and as alice, then deleteAcls of bob's entries and describeAcls again.
// Prints JSON.
'use strict'
const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } =
  require('kafkajs')
const { deadline, fail } = require('./common')

function kafka(bootstrap, username) {
  return new Kafka({
    clientId: `kafkish-acls-${username}`,
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 0 },
    sasl: { mechanism: 'plain', username, password: `${username}-secret` },
  })
}

async function produceAs(bootstrap, username, topic) {
  const producer = kafka(bootstrap, username).producer()
  await producer.connect()
  try {
    await producer.send({ topic, messages: [{ value: username }] })
    return 'ok'
  } catch (error) {
    return error.message
  } finally {
    await producer.disconnect()
  }
}

async function metadataAs(bootstrap, username, topic) {
  const admin = kafka(bootstrap, username).admin()
  await admin.connect()
  try {
    await admin.fetchTopicMetadata({ topics: [topic] })
    return 'ok'
  } catch (error) {
    return error.message
  } finally {
    await admin.disconnect()
  }
}

function entry(topic, principal, permissionType) {
  return {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal,
    host: '*',
    operation: AclOperationTypes.ALL,
    permissionType,
  }
}

async function main() {
  const [bootstrap, topic] = process.argv.slice(2)
  deadline(60000)
  const admin = kafka(bootstrap, 'alice').admin()
  await admin.connect()
  const created = await admin.createAcls({
    acl: [entry(topic, 'User:bob', AclPermissionTypes.DENY), entry(topic, 'User:alice', AclPermissionTypes.ALLOW)],
  })
  const ofTopic = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    host: '*',
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  }
  const described = await admin.describeAcls(ofTopic)
  const bob = [await metadataAs(bootstrap, 'bob', topic), await produceAs(bootstrap, 'bob', topic)]
  const alice = [await metadataAs(bootstrap, 'alice', topic), await produceAs(bootstrap, 'alice', topic)]
  const deleted = await admin.deleteAcls({ filters: [{ ...ofTopic, principal: 'User:bob' }] })
  const after = await admin.describeAcls(ofTopic)
  await admin.disconnect()
  console.log(JSON.stringify({ created, described, bob, alice, deleted, after }))
}

main().catch(fail)
