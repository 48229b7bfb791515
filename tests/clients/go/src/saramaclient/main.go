// Command saramaclient drives Shopify/sarama (Debian's golang-github-shopify-sarama-dev, 1.22.1) against a
// kafkish broker for tests/clients/test_sarama.py and tests/cluster/test_sarama_cluster.py.
//
// Usage: saramaclient <command> <bootstrap> [args...]. Each command does what a Go user of sarama would do
// and prints one JSON object on its last line of stdout; expected Kafka errors are reported in that object
// (as sarama's KError number and text), anything unexpected exits 1 with the error on stderr.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

const deadline = 60 * time.Second

func main() {
	if len(os.Args) < 3 {
		fail(errors.New("usage: saramaclient <command> <bootstrap> [args...]"))
	}
	command, addrs, args := os.Args[1], strings.Split(os.Args[2], ","), os.Args[3:]
	commands := map[string]func([]string, []string) (interface{}, error){
		"admin":          admin,
		"produce-sync":   produceSync,
		"produce-async":  produceAsync,
		"consume":        consume,
		"group":          group,
		"group-share":    groupShare,
		"acls":           acls,
		"delete-records": deleteRecords,
		"offsets":        offsets,
		"metadata":       metadata,
	}
	run, ok := commands[command]
	if !ok {
		fail(fmt.Errorf("unknown command %q", command))
	}
	timer := time.AfterFunc(deadline, func() { fail(fmt.Errorf("%s: no result within %s", command, deadline)) })
	result, err := run(addrs, args)
	timer.Stop()
	if err != nil {
		fail(err)
	}
	out, err := json.Marshal(result)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "saramaclient:", err)
	os.Exit(1)
}

// newConfig is what a Go user writes: the newest protocol version sarama 1.22 knows (Kafka 2.2).
func newConfig() *sarama.Config {
	config := sarama.NewConfig()
	config.Version = sarama.V2_2_0_0
	config.ClientID = "kafkish-sarama-test"
	config.Metadata.Retry.Backoff = 200 * time.Millisecond
	config.Metadata.Retry.Max = 20
	return config
}

// kerror is the Kafka error a sarama call returned, as number and text (0 when it is not a Kafka error).
type kerror struct {
	Code int16  `json:"code"`
	Text string `json:"text"`
}

func asKError(err error) *kerror {
	if err == nil {
		return nil
	}
	switch e := err.(type) {
	case sarama.KError:
		return &kerror{int16(e), e.Error()}
	case *sarama.TopicError:
		return &kerror{int16(e.Err), e.Error()}
	case *sarama.TopicPartitionError:
		return &kerror{int16(e.Err), e.Error()}
	}
	return &kerror{-2, err.Error()}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(err)
	}
	return n
}

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

type produced struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Key       string `json:"key"`
}

func message(topic string, i int) *sarama.ProducerMessage {
	return &sarama.ProducerMessage{
		Topic:   topic,
		Key:     sarama.StringEncoder(fmt.Sprintf("key-%d", i)),
		Value:   sarama.StringEncoder(fmt.Sprintf("value-%d", i)),
		Headers: []sarama.RecordHeader{{Key: []byte("source"), Value: []byte("sarama")}, {Key: []byte("n"), Value: []byte(strconv.Itoa(i))}},
	}
}

// produce-sync <topic> <count> <first> <idempotent: 0|1> [pause]: a SyncProducer with acks=all. With
// "pause" it prints "paused" on stderr halfway and waits for a line on stdin before it goes on (with
// the same producer and connections), so a test can move leaders in between.
func produceSync(addrs []string, args []string) (interface{}, error) {
	topic, count, first, idempotent := args[0], atoi(args[1]), atoi(args[2]), args[3] == "1"
	pause := len(args) > 4 && args[4] == "pause"
	config := newConfig()
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Return.Successes = true
	config.Producer.Partitioner = sarama.NewHashPartitioner
	if idempotent {
		config.Producer.Idempotent = true
		config.Net.MaxOpenRequests = 1
		config.Producer.Retry.Max = 5
	}
	producer, err := sarama.NewSyncProducer(addrs, config)
	if err != nil {
		return nil, err
	}
	defer producer.Close()
	results := []produced{}
	for i := first; i < first+count; i++ {
		if pause && i == first+count/2 {
			fmt.Fprintln(os.Stderr, "paused")
			if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
				return nil, fmt.Errorf("waiting to go on: %w", err)
			}
		}
		partition, offset, err := producer.SendMessage(message(topic, i))
		if err != nil {
			return nil, fmt.Errorf("SendMessage %d: %w", i, err)
		}
		results = append(results, produced{partition, offset, fmt.Sprintf("key-%d", i)})
	}
	return map[string]interface{}{"produced": results}, nil
}

// produce-async <topic> <count> <codec>: an AsyncProducer with compression, records spread by a
// round-robin partitioner and batched (Flush.Messages), every success and error collected.
func produceAsync(addrs []string, args []string) (interface{}, error) {
	topic, count, codec := args[0], atoi(args[1]), args[2]
	config := newConfig()
	codecs := map[string]sarama.CompressionCodec{
		"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
		"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD,
	}
	config.Producer.Compression = codecs[codec]
	config.Producer.RequiredAcks = sarama.WaitForLocal
	config.Producer.Return.Successes = true
	config.Producer.Partitioner = sarama.NewRoundRobinPartitioner
	config.Producer.Flush.Messages = 10
	config.Producer.Flush.Frequency = 50 * time.Millisecond
	producer, err := sarama.NewAsyncProducer(addrs, config)
	if err != nil {
		return nil, err
	}
	for i := 0; i < count; i++ {
		msg := message(topic, i)
		msg.Value = sarama.StringEncoder(strings.Repeat(fmt.Sprintf("value-%d ", i), 20))
		producer.Input() <- msg
	}
	results, failures := []produced{}, []string{}
	for len(results)+len(failures) < count {
		select {
		case m := <-producer.Successes():
			key, _ := m.Key.Encode()
			results = append(results, produced{m.Partition, m.Offset, string(key)})
		case e := <-producer.Errors():
			failures = append(failures, e.Err.Error())
		}
	}
	if err := producer.Close(); err != nil {
		return nil, err
	}
	return map[string]interface{}{"produced": results, "errors": failures}, nil
}

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
type handler struct {
	mu       sync.Mutex
	want     int
	seen     []consumed
	claims   []int32
	done     chan struct{}
	doneOnce sync.Once
}

func (h *handler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, partitions := range s.Claims() {
		h.claims = append(h.claims, partitions...)
	}
	return nil
}

func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.mu.Lock()
		if len(h.seen) >= h.want { // enough: the rest stays unmarked for the next member
			h.mu.Unlock()
			continue
		}
		h.seen = append(h.seen, record(m))
		s.MarkMessage(m, "")
		enough := len(h.seen) >= h.want
		h.mu.Unlock()
		if enough {
			h.doneOnce.Do(func() { close(h.done) })
		}
	}
	return nil
}

// group <topic> <group> <count>: a ConsumerGroup member that consumes `count` records, marks them,
// and closes (committing the marked offsets); its generation's claims are reported.
func group(addrs []string, args []string) (interface{}, error) {
	topic, groupID, count := args[0], args[1], atoi(args[2])
	config := newConfig()
	config.Consumer.Offsets.Initial = sarama.OffsetOldest
	config.Consumer.Group.Session.Timeout = 6 * time.Second
	config.Consumer.Group.Heartbeat.Interval = 1 * time.Second
	config.Consumer.Return.Errors = true
	cg, err := sarama.NewConsumerGroup(addrs, groupID, config)
	if err != nil {
		return nil, err
	}
	h := &handler{want: count, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	consumed := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, h); err != nil {
				consumed <- err
				return
			}
		}
		consumed <- nil
	}()
	groupErrors := []string{}
	for waiting := true; waiting; {
		select {
		case <-h.done:
			waiting = false
		case e := <-cg.Errors():
			groupErrors = append(groupErrors, e.Error())
		case err := <-consumed:
			cancel()
			return nil, fmt.Errorf("Consume: %v (errors: %v)", err, groupErrors)
		}
	}
	cancel()
	if err := <-consumed; err != nil {
		return nil, fmt.Errorf("Consume: %w", err)
	}
	if err := cg.Close(); err != nil { // commits what was marked
		return nil, fmt.Errorf("Close: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	sort.Slice(h.claims, func(i, j int) bool { return h.claims[i] < h.claims[j] })
	return map[string]interface{}{"seen": h.seen, "claims": h.claims, "errors": groupErrors}, nil
}

// member is one ConsumerGroup of group-share: the partitions of its latest session and what it read.
type member struct {
	mu     sync.Mutex
	claims []int32
	seen   []consumed
}

func (m *member) Setup(s sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims = append([]int32{}, s.Claims()[claimedTopic(s)]...)
	sort.Slice(m.claims, func(i, j int) bool { return m.claims[i] < m.claims[j] })
	return nil
}

func claimedTopic(s sarama.ConsumerGroupSession) string {
	for topic := range s.Claims() {
		return topic
	}
	return ""
}

func (m *member) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (m *member) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		m.mu.Lock()
		m.seen = append(m.seen, record(msg))
		m.mu.Unlock()
		s.MarkMessage(msg, "")
	}
	return nil
}

func (m *member) state() ([]int32, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.claims, len(m.seen)
}

// group-share <topic> <group> <partitions> <count>: two members join one group (a rebalance when the
// second arrives); once their claims split the partitions between them, `count` records are produced
// and the two read them. Each member's final claims and records are reported.
func groupShare(addrs []string, args []string) (interface{}, error) {
	topic, groupID, partitions, count := args[0], args[1], atoi(args[2]), atoi(args[3])
	config := newConfig()
	config.Consumer.Offsets.Initial = sarama.OffsetNewest
	config.Consumer.Group.Session.Timeout = 6 * time.Second
	config.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	members := []*member{{}, {}}
	groups := []sarama.ConsumerGroup{}
	for _, m := range members {
		cg, err := sarama.NewConsumerGroup(addrs, groupID, config)
		if err != nil {
			return nil, err
		}
		groups = append(groups, cg)
		go func(cg sarama.ConsumerGroup, m *member) {
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, []string{topic}, m); err != nil {
					fail(fmt.Errorf("Consume: %w", err))
				}
			}
		}(cg, m)
	}
	split := func() bool {
		a, _ := members[0].state()
		b, _ := members[1].state()
		return len(a) > 0 && len(b) > 0 && len(a)+len(b) == partitions
	}
	for !split() {
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := produceSync(addrs, []string{topic, strconv.Itoa(count), "0", "0"}); err != nil {
		return nil, err
	}
	for {
		_, a := members[0].state()
		_, b := members[1].state()
		if a+b >= count {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	result := []map[string]interface{}{}
	for i, m := range members {
		if err := groups[i].Close(); err != nil {
			return nil, fmt.Errorf("Close: %w", err)
		}
		claims, _ := m.state()
		result = append(result, map[string]interface{}{"claims": claims, "seen": m.seen})
	}
	return map[string]interface{}{"members": result}, nil
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

// metadata <topic>: the brokers, the controller and the topic's partition leaders and replicas, as a
// client sees them after a refresh.
func metadata(addrs []string, args []string) (interface{}, error) {
	topic := args[0]
	client, err := sarama.NewClient(addrs, newConfig())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	if err := client.RefreshMetadata(topic); err != nil {
		return nil, fmt.Errorf("RefreshMetadata: %w", err)
	}
	brokers := map[int32]string{}
	for _, b := range client.Brokers() {
		brokers[b.ID()] = b.Addr()
	}
	controller, err := client.Controller()
	if err != nil {
		return nil, fmt.Errorf("Controller: %w", err)
	}
	partitions, err := client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("Partitions: %w", err)
	}
	leaders, replicas := map[int32]int32{}, map[int32][]int32{}
	for _, p := range partitions {
		leader, err := client.Leader(topic, p)
		if err != nil {
			return nil, fmt.Errorf("Leader: %w", err)
		}
		leaders[p] = leader.ID()
		if replicas[p], err = client.Replicas(topic, p); err != nil {
			return nil, fmt.Errorf("Replicas: %w", err)
		}
	}
	return map[string]interface{}{
		"brokers": brokers, "controller": controller.ID(), "leaders": leaders, "replicas": replicas,
	}, nil
}
