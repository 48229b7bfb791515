// Reading commands: a PartitionConsumer and offsets (ListOffsets, OffsetFetch, groups).

package main

import (
	"fmt"
	"time"

	"github.com/Shopify/sarama"
)

type consumed struct {
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       string            `json:"key"`
	Value     string            `json:"value"`
	Headers   map[string]string `json:"headers"`
}

func record(m *sarama.ConsumerMessage) consumed {
	headers := map[string]string{}
	for _, h := range m.Headers {
		headers[string(h.Key)] = string(h.Value)
	}
	return consumed{m.Partition, m.Offset, string(m.Key), string(m.Value), headers}
}

// consume <topic> <partition> <count> [read_committed]: a PartitionConsumer from the oldest offset;
// then the error ConsumePartition gives for a partition that does not exist. With read_committed it
// reads at that isolation level and waits a second after `count` records for any more.
func consume(addrs []string, args []string) (interface{}, error) {
	topic, partition, count := args[0], int32(atoi(args[1])), atoi(args[2])
	config := newConfig()
	committed := len(args) > 3 && args[3] == "read_committed"
	if committed {
		config.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	consumer, err := sarama.NewConsumer(addrs, config)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, partition, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("ConsumePartition: %w", err)
	}
	records := []consumed{}
	for len(records) < count {
		select {
		case m := <-pc.Messages():
			records = append(records, record(m))
		case e := <-pc.Errors():
			return nil, e
		}
	}
	for linger := time.After(time.Second); committed; {
		select {
		case m := <-pc.Messages():
			records = append(records, record(m))
		case e := <-pc.Errors():
			return nil, e
		case <-linger:
			committed = false
		}
	}
	hwm := pc.HighWaterMarkOffset()
	if err := pc.Close(); err != nil {
		return nil, err
	}
	_, missing := consumer.ConsumePartition(topic, 99, sarama.OffsetOldest)
	return map[string]interface{}{"records": records, "highWaterMark": hwm, "missingPartition": asKError(missing)}, nil
}

// handler takes `want` records in this process, marking each one, and leaves later ones unmarked.
// offsets <topic> <partitions> <group>: oldest and newest offsets of each partition (ListOffsets), the
// group's committed offsets (ClusterAdmin.ListConsumerGroupOffsets and an OffsetManager), the groups.
func offsets(addrs []string, args []string) (interface{}, error) {
	topic, partitions, groupID := args[0], int32(atoi(args[1])), args[2]
	client, err := sarama.NewClient(addrs, newConfig())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	oldest, newest := map[int32]int64{}, map[int32]int64{}
	ids, err := client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("Partitions: %w", err)
	}
	for p := int32(0); p < partitions; p++ {
		if oldest[p], err = client.GetOffset(topic, p, sarama.OffsetOldest); err != nil {
			return nil, fmt.Errorf("GetOffset oldest: %w", err)
		}
		if newest[p], err = client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			return nil, fmt.Errorf("GetOffset newest: %w", err)
		}
	}
	byTime, future := map[int32]int64{}, map[int32]int64{}
	for p := int32(0); p < partitions; p++ {
		if byTime[p], err = client.GetOffset(topic, p, 1); err != nil { // the first record at or after 1 ms
			return nil, fmt.Errorf("GetOffset by time: %w", err)
		}
		if future[p], err = client.GetOffset(topic, p, time.Now().Add(time.Hour).UnixNano()/1e6); err != nil {
			return nil, fmt.Errorf("GetOffset in the future: %w", err)
		}
	}
	ca, err := sarama.NewClusterAdmin(addrs, newConfig())
	if err != nil {
		return nil, err
	}
	defer ca.Close()
	wanted := []int32{}
	for p := int32(0); p < partitions; p++ {
		wanted = append(wanted, p)
	}
	fetched, err := ca.ListConsumerGroupOffsets(groupID, map[string][]int32{topic: wanted})
	if err != nil {
		return nil, fmt.Errorf("ListConsumerGroupOffsets: %w", err)
	}
	committed := map[int32]int64{}
	for p, block := range fetched.Blocks[topic] {
		committed[p] = block.Offset
	}
	om, err := sarama.NewOffsetManagerFromClient(groupID, client)
	if err != nil {
		return nil, err
	}
	pom, err := om.ManagePartition(topic, 0)
	if err != nil {
		return nil, fmt.Errorf("ManagePartition: %w", err)
	}
	next, _ := pom.NextOffset()
	pom.Close()
	om.Close()
	groups, err := ca.ListConsumerGroups()
	if err != nil {
		return nil, fmt.Errorf("ListConsumerGroups: %w", err)
	}
	described, err := ca.DescribeConsumerGroups([]string{groupID})
	if err != nil {
		return nil, fmt.Errorf("DescribeConsumerGroups: %w", err)
	}
	return map[string]interface{}{
		"partitionIDs": ids, "oldest": oldest, "newest": newest, "byTime": byTime, "future": future,
		"committed": committed, "offsetManagerNext": next, "groups": groups,
		"groupState": described[0].State, "groupProtocolType": described[0].ProtocolType,
	}, nil
}
