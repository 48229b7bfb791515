// Consume TOPIC from the beginning with one consumer of GROUP (kafkajs reads read_committed unless
// told otherwise); print the values once COUNT arrived. With a 4th argument "uncommitted" it reads
// read_uncommitted instead.
'use strict'
const { args, client, deadline, fail, until } = require('./common')

async function main() {
  const { bootstrap, topic, group, rest } = args()
  const count = Number(rest[0] || 1)
  const readUncommitted = rest[1] === 'uncommitted'
  deadline(45000)
  const kafka = client(bootstrap, 'kafkish-read-committed')
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, readUncommitted, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = []
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message.value.toString())
    },
  })
  await until(() => seen.length >= count, 30000, `${count} records`)
  await consumer.disconnect()
  console.log(JSON.stringify({ seen }))
}

main().catch(fail)
