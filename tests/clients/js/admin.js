// An admin's view of GROUP: listGroups, describeGroups, fetchOffsets for TOPIC; printed as JSON.
'use strict'
const { args, client, deadline, fail } = require('./common')

async function main() {
  const { bootstrap, topic, group } = args()
  deadline(30000)
  const admin = client(bootstrap, 'kafkish-admin').admin()
  await admin.connect()
  const listed = await admin.listGroups()
  const described = await admin.describeGroups([group])
  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] })
  const deleted = await admin.deleteGroups([group])
  await admin.disconnect()
  const members = described.groups[0].members.map((m) => ({ memberId: m.memberId, clientId: m.clientId }))
  const groups = described.groups.map((g) => ({ groupId: g.groupId, state: g.state, protocolType: g.protocolType, protocol: g.protocol, members }))
  console.log(JSON.stringify({ listed: listed.groups, described: groups, offsets, deleted }))
}

main().catch(fail)
