// kafkajs's low-level Broker API (as its own specs use it): JoinGroup with no rebalance timeout
// (sent as 0), a pause, then SyncGroup and Heartbeat. Prints the answers as JSON.
'use strict'
const Broker = require('kafkajs/src/broker')
const ConnectionPool = require('kafkajs/src/network/connectionPool')
const socketFactory = require('kafkajs/src/network/socketFactory')
const { createLogger, LEVELS } = require('kafkajs/src/loggers')
const LoggerConsole = require('kafkajs/src/loggers/console')
const { args, deadline, fail } = require('./common')

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function main() {
  const { bootstrap, group, rest } = args()
  const pauseMs = Number(rest[0] || '1000')
  deadline(60000)
  const [host, port] = bootstrap.split(':')
  const logger = createLogger({ level: LEVELS.WARN, logCreator: LoggerConsole })
  const connectionPool = new ConnectionPool({
    host, port: Number(port), logger, socketFactory: socketFactory(), clientId: 'low-level',
    connectionTimeout: 5000, requestTimeout: 30000,
  })
  const broker = new Broker({ connectionPool, logger })
  await broker.connect()
  let joined
  for (let attempt = 0; ; attempt++) {
    try {
      joined = await broker.joinGroup({
        groupId: group,
        sessionTimeout: 6000,
        groupProtocols: [{ name: 'AssignerName', metadata: '{"version": 1}' }],
      })
      break
    } catch (error) {
      if (attempt > 50 || !error.retriable) throw error
      await sleep(200)
    }
  }
  await sleep(pauseMs) // longer than the (zero) rebalance timeout
  const synced = await broker.syncGroup({
    groupId: group,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupAssignment: [{ memberId: joined.memberId, memberAssignment: Buffer.from('the assignment') }],
  })
  await sleep(pauseMs)
  const beat = await broker.heartbeat({ groupId: group, groupGenerationId: joined.generationId, memberId: joined.memberId })
  await broker.disconnect()
  console.log(JSON.stringify({
    joinError: joined.errorCode, generationId: joined.generationId, leader: joined.leaderId === joined.memberId,
    syncError: synced.errorCode, assignment: synced.memberAssignment.toString(), heartbeatError: beat.errorCode,
  }))
}

main().catch(fail)
