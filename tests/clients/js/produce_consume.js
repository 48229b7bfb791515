// Produce COUNT records to TOPIC (round robin over its partitions), consume them with one consumer of
// GROUP from the committed offset (the earliest the first time), commit, print what was read.
'use strict'
const { args, client, deadline, fail, until } = require('./common')

async function main() {
  const { bootstrap, topic, group, rest } = args()
  const count = Number(rest[0] || 10)
  const start = Number(rest[1] || 0)
  deadline(45000)
  const kafka = client(bootstrap, 'kafkish-produce-consume')
  const admin = kafka.admin()
  await admin.connect()
  const { partitions } = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  const messages = []
  for (let i = start; i < start + count; i++) messages.push({ value: String(i), partition: i % partitions.length })
  await producer.send({ topic, messages })
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = []
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message.value.toString())
    },
  })
  await until(() => seen.length >= count, 30000, `${count} records`)
  await consumer.disconnect() // commits what was consumed, then leaves the group
  console.log(JSON.stringify({ seen }))
}

main().catch(fail)
