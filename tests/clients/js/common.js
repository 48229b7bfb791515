// What every script shares: arguments, a kafkajs client, a hard deadline, JSON out.
'use strict'
const { Kafka, logLevel } = require('kafkajs')

function args() {
  const [bootstrap, topic, group, ...rest] = process.argv.slice(2)
  if (!bootstrap || !topic || !group) {
    console.error('usage: node <script> BOOTSTRAP TOPIC GROUP [...]')
    process.exit(64)
  }
  return { bootstrap, topic, group, rest }
}

function client(bootstrap, clientId) {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 5, initialRetryTime: 100 },
  })
}

// Exit non-zero if the script is not done in time: a test never waits on a stuck client.
function deadline(ms) {
  const timer = setTimeout(() => {
    console.error(`timed out after ${ms} ms`)
    process.exit(3)
  }, ms)
  timer.unref()
}

function fail(error) {
  console.error(error && error.stack ? error.stack : String(error))
  process.exit(1)
}

function until(predicate, ms, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const check = () => {
      if (predicate()) return resolve()
      if (Date.now() - started > ms) return reject(new Error(`gave up waiting for ${what}`))
      setTimeout(check, 20)
    }
    check()
  })
}

module.exports = { args, client, deadline, fail, until }
