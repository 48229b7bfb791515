// Transactions with kafkajs: commit, abort, a zombie fenced by a second producer with the same
// transactional id, offsets sent to a transaction; then what read_uncommitted and read_committed
// consumers of GROUP-* see of TOPIC (one partition). Prints JSON.
'use strict'
const { args, client, deadline, fail, until } = require('./common')

async function consume(kafka, topic, groupId, readUncommitted, count) {
  const consumer = kafka.consumer({ groupId, readUncommitted, sessionTimeout: 6000, heartbeatInterval: 500 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = []
  await consumer.run({ eachMessage: async ({ message }) => { seen.push([Number(message.offset), message.value.toString()]) } })
  await until(() => seen.length >= count, 30000, `${count} records (${groupId})`)
  await new Promise((resolve) => setTimeout(resolve, 1000)) // nothing more comes
  await consumer.disconnect()
  return seen
}

async function main() {
  const { bootstrap, topic, group } = args()
  deadline(80000)
  const kafka = client(bootstrap, 'kafkish-transactions')
  const producer = kafka.producer({ transactionalId: 'js-txn', idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  let txn = await producer.transaction()
  await txn.send({ topic, messages: [{ value: 'c0' }, { value: 'c1' }] })
  await txn.commit()
  txn = await producer.transaction()
  await txn.send({ topic, messages: [{ value: 'a0' }] })
  await txn.abort()
  txn = await producer.transaction()
  await txn.send({ topic, messages: [{ value: 'last' }] })
  await txn.sendOffsets({ consumerGroupId: `${group}-ctp`, topics: [{ topic, partitions: [{ partition: 0, offset: '3' }] }] })
  await txn.commit()

  // A zombie: its open transaction is aborted when a successor with the same id starts.
  const zombie = kafka.producer({ transactionalId: 'js-zombie', idempotent: true, maxInFlightRequests: 1 })
  await zombie.connect()
  const zombieTxn = await zombie.transaction()
  await zombieTxn.send({ topic, messages: [{ value: 'zombie' }] })
  const successor = kafka.producer({ transactionalId: 'js-zombie', idempotent: true, maxInFlightRequests: 1 })
  await successor.connect()
  const successorTxn = await successor.transaction() // kafkajs initialises the transactional id here
  let fenced = null
  try {
    await zombieTxn.commit()
  } catch (error) {
    fenced = error.type || error.name
  }
  await successorTxn.send({ topic, messages: [{ value: 'successor' }] })
  await successorTxn.commit()
  await Promise.all([producer.disconnect(), zombie.disconnect().catch(() => {}), successor.disconnect()])

  const admin = kafka.admin()
  await admin.connect()
  const offsets = await admin.fetchOffsets({ groupId: `${group}-ctp`, topics: [topic] })
  await admin.disconnect()
  const uncommitted = await consume(kafka, topic, `${group}-uncommitted`, true, 6)
  const committed = await consume(kafka, topic, `${group}-committed`, false, 4)
  console.log(JSON.stringify({ fenced, offsets: offsets[0].partitions, uncommitted, committed }))
  process.exit(0)
}

main().catch(fail)
