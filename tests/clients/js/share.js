// Three consumers of GROUP share TOPIC's partitions: wait until each holds its share, produce COUNT
// records, consume them all, print per consumer its assignment and what it read.
'use strict'
const { args, client, deadline, fail, until } = require('./common')

async function main() {
  const { bootstrap, topic, group, rest } = args()
  const count = Number(rest[0] || 60)
  const members = Number(rest[1] || 3)
  deadline(60000)
  const kafka = client(bootstrap, 'kafkish-share')
  const consumers = []
  for (let i = 0; i < members; i++) {
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 300 })
    const state = { consumer, assignment: [], generation: -1, seen: [] }
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      state.assignment = payload.memberAssignment[topic] || []
      state.generation = payload.generationId
    })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        state.seen.push([partition, message.value.toString()])
      },
    })
    consumers.push(state)
  }
  const settled = () =>
    consumers.every((c) => c.generation === consumers[0].generation) &&
    consumers.reduce((n, c) => n + c.assignment.length, 0) > 0 &&
    new Set(consumers.flatMap((c) => c.assignment)).size === consumers.reduce((n, c) => n + c.assignment.length, 0)
  await until(settled, 40000, 'one generation with every partition assigned once')
  const producer = kafka.producer()
  await producer.connect()
  const { partitions } = (await (async () => {
    const admin = kafka.admin()
    await admin.connect()
    const meta = await admin.fetchTopicMetadata({ topics: [topic] })
    await admin.disconnect()
    return meta
  })()).topics[0]
  const messages = []
  for (let i = 0; i < count; i++) messages.push({ value: String(i), partition: i % partitions.length })
  await producer.send({ topic, messages })
  await producer.disconnect()
  await until(() => consumers.reduce((n, c) => n + c.seen.length, 0) >= count, 30000, `${count} records`)
  const out = consumers.map((c) => ({ assignment: c.assignment, generation: c.generation, seen: c.seen }))
  for (const c of consumers) await c.consumer.disconnect()
  console.log(JSON.stringify({ consumers: out }))
}

main().catch(fail)
