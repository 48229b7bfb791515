// Topic configs through kafkajs's admin, as its own test suite uses them: create TOPIC with configs,
// alter one (message.timestamp.difference.max.ms), describe two names in a chosen order. JSON out.
'use strict'
const { ConfigResourceTypes } = require('kafkajs')
const { args, client, deadline, fail } = require('./common')

async function main() {
  const { bootstrap, topic } = args()
  deadline(30000)
  const admin = client(bootstrap, 'kafkish-configs').admin()
  await admin.connect()
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
  })
  await admin.alterConfigs({
    resources: [{
      type: ConfigResourceTypes.TOPIC,
      name: topic,
      configEntries: [
        { name: 'message.timestamp.difference.max.ms', value: '86400000' },
        { name: 'cleanup.policy', value: 'compact' },
      ],
    }],
  })
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{
      type: ConfigResourceTypes.TOPIC,
      name: topic,
      configNames: ['message.timestamp.difference.max.ms', 'cleanup.policy', 'retention.ms'],
    }],
  })
  await admin.disconnect()
  const entries = described.resources[0].configEntries.map((e) => ({ name: e.configName, value: e.configValue }))
  console.log(JSON.stringify({ errorCode: described.resources[0].errorCode, entries }))
}

main().catch(fail)
