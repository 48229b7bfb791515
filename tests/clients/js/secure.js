// Produce one record to TOPIC and read it back in GROUP over a secured listener: SASL MECHANISM ('-' for
// none) as USER/PASSWORD, TLS trusting CA when given. Prints {"value": ...}, or {"error": ...} when
// kafkajs cannot connect (an authentication failure is an answer here, not a crash).
'use strict'
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')
const { deadline, until } = require('./common')

async function main() {
  const [bootstrap, topic, group, mechanism, username, password, ca] = process.argv.slice(2)
  deadline(45000)
  const kafka = new Kafka({
    clientId: 'kafkish-secure',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 2, initialRetryTime: 100 },
    ssl: ca ? { ca: [fs.readFileSync(ca, 'utf-8')] } : false,
    sasl: mechanism === '-' ? undefined : { mechanism: mechanism.toLowerCase(), username, password },
  })
  const producer = kafka.producer()
  try {
    await producer.connect()
  } catch (error) {
    console.log(JSON.stringify({ error: String(error.message) }))
    return
  }
  await producer.send({ topic, messages: [{ value: 'from kafkajs' }] })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = []
  await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value.toString()) } })
  await until(() => seen.length > 0, 30000, 'a record')
  await consumer.disconnect()
  console.log(JSON.stringify({ value: seen[0] }))
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error))
  process.exit(1)
})
