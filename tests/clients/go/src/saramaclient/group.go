// ConsumerGroup commands: one member that commits and stops, two members that share partitions.

package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

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
