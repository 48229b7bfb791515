// ClusterAdmin commands: topics, configs, partitions, ACLs, records deletion.

package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/Shopify/sarama"
)

// admin <topic> <partitions>: create (with configs), create again, describe, describe configs, alter
// configs, add partitions (and try to remove some), list, delete, then describe the deleted topic.
func admin(addrs []string, args []string) (interface{}, error) {
	topic, partitions := args[0], int32(atoi(args[1]))
	ca, err := sarama.NewClusterAdmin(addrs, newConfig())
	if err != nil {
		return nil, err
	}
	defer ca.Close()
	retention, cleanup := "3600000", "compact"
	detail := &sarama.TopicDetail{
		NumPartitions:     partitions,
		ReplicationFactor: 1,
		ConfigEntries:     map[string]*string{"retention.ms": &retention, "cleanup.policy": &cleanup},
	}
	if err := ca.CreateTopic(topic, detail, false); err != nil {
		return nil, fmt.Errorf("CreateTopic: %w", err)
	}
	again := ca.CreateTopic(topic, detail, false)
	badRF := ca.CreateTopic(topic+"-rf", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 5}, false)
	var described []*sarama.TopicMetadata
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(200 * time.Millisecond) {
		if described, err = ca.DescribeTopics([]string{topic}); err == nil && described[0].Err == 0 {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("DescribeTopics: %w", err)
	}
	leaders := map[int32]int32{}
	for _, p := range described[0].Partitions {
		leaders[p.ID] = p.Leader
	}
	entries, err := ca.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	if err != nil {
		return nil, fmt.Errorf("DescribeConfig: %w", err)
	}
	configs := map[string]map[string]interface{}{}
	for _, e := range entries {
		configs[e.Name] = map[string]interface{}{"value": e.Value, "default": e.Default, "source": int(e.Source)}
	}
	newValue := "7200000"
	altered := ca.AlterConfig(sarama.TopicResource, topic, map[string]*string{"retention.ms": &newValue}, false)
	afterAlter, err := ca.DescribeConfig(sarama.ConfigResource{
		Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"retention.ms"},
	})
	if err != nil {
		return nil, fmt.Errorf("DescribeConfig after AlterConfig: %w", err)
	}
	grown := ca.CreatePartitions(topic, partitions+2, nil, false)
	shrunk := ca.CreatePartitions(topic, 1, nil, false)
	listed, err := ca.ListTopics()
	if err != nil {
		return nil, fmt.Errorf("ListTopics: %w", err)
	}
	listedDetail, inList := listed[topic]
	if err := ca.DeleteTopic(topic); err != nil {
		return nil, fmt.Errorf("DeleteTopic: %w", err)
	}
	deleteAgain := ca.DeleteTopic(topic)
	var gone []*sarama.TopicMetadata
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(200 * time.Millisecond) {
		if gone, err = ca.DescribeTopics([]string{topic}); err == nil && gone[0].Err != 0 {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("DescribeTopics after delete: %w", err)
	}
	brokers, controller, err := ca.DescribeCluster()
	if err != nil {
		return nil, fmt.Errorf("DescribeCluster: %w", err)
	}
	return map[string]interface{}{
		"createAgain":       asKError(again),
		"createBadRF":       asKError(badRF),
		"leaders":           leaders,
		"configs":           configs,
		"alter":             asKError(altered),
		"retentionAfter":    afterAlter[0].Value,
		"listed":            inList,
		"createPartitions":  asKError(grown),
		"shrinkPartitions":  asKError(shrunk),
		"listedPartitions":  listedDetail.NumPartitions,
		"listedConfigs":     listedDetail.ConfigEntries,
		"deleteAgain":       asKError(deleteAgain),
		"describeDeleted":   asKError(gone[0].Err),
		"clusterBrokers":    len(brokers),
		"clusterController": controller,
	}, nil
}

// acls <topic>: CreateACL (alice may read the topic, bob may not write it), ListAcls by topic and
// by principal, DeleteACL of alice's, ListAcls again. sarama 1.22 sends the v0 requests (no patterns).
func acls(addrs []string, args []string) (interface{}, error) {
	topic := args[0]
	ca, err := sarama.NewClusterAdmin(addrs, newConfig())
	if err != nil {
		return nil, err
	}
	defer ca.Close()
	resource := sarama.Resource{ResourceType: sarama.AclResourceTopic, ResourceName: topic}
	created := []*kerror{}
	for _, acl := range []sarama.Acl{
		{Principal: "User:alice", Host: "*", Operation: sarama.AclOperationRead, PermissionType: sarama.AclPermissionAllow},
		{Principal: "User:bob", Host: "*", Operation: sarama.AclOperationWrite, PermissionType: sarama.AclPermissionDeny},
	} {
		created = append(created, asKError(ca.CreateACL(resource, acl)))
	}
	list := func(filter sarama.AclFilter) ([]string, error) {
		found, err := ca.ListAcls(filter)
		if err != nil {
			return nil, err
		}
		out := []string{}
		for _, r := range found {
			for _, a := range r.Acls {
				out = append(out, fmt.Sprintf("%d %s %s %s %d %d", r.ResourceType, r.ResourceName, a.Principal, a.Host, a.Operation, a.PermissionType))
			}
		}
		sort.Strings(out)
		return out, nil
	}
	byTopic := sarama.AclFilter{ResourceType: sarama.AclResourceTopic, ResourceName: &topic, Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny}
	listed, err := list(byTopic)
	if err != nil {
		return nil, fmt.Errorf("ListAcls: %w", err)
	}
	alice := "User:alice"
	ofAlice := sarama.AclFilter{ResourceType: sarama.AclResourceAny, Principal: &alice, Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny}
	listedAlice, err := list(ofAlice)
	if err != nil {
		return nil, fmt.Errorf("ListAcls by principal: %w", err)
	}
	deleted, err := ca.DeleteACL(ofAlice, false)
	if err != nil {
		return nil, fmt.Errorf("DeleteACL: %w", err)
	}
	deletedACLs := []string{}
	for _, m := range deleted {
		deletedACLs = append(deletedACLs, fmt.Sprintf("%d %s %s %d", m.ResourceType, m.ResourceName, m.Principal, m.Operation))
	}
	after, err := list(byTopic)
	if err != nil {
		return nil, fmt.Errorf("ListAcls after delete: %w", err)
	}
	return map[string]interface{}{
		"created": created, "listed": listed, "listedAlice": listedAlice, "deleted": deletedACLs, "after": after,
	}, nil
}

// delete-records <topic> <partition> <offset>: ClusterAdmin.DeleteRecords below an offset.
func deleteRecords(addrs []string, args []string) (interface{}, error) {
	topic, partition, offset := args[0], int32(atoi(args[1])), int64(atoi(args[2]))
	ca, err := sarama.NewClusterAdmin(addrs, newConfig())
	if err != nil {
		return nil, err
	}
	defer ca.Close()
	deleted := ca.DeleteRecords(topic, map[int32]int64{partition: offset})
	return map[string]interface{}{"error": asKError(deleted)}, nil
}
