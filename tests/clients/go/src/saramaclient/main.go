// Command saramaclient drives Shopify/sarama (Debian's golang-github-shopify-sarama-dev, 1.22.1) against a
// kafkish broker for tests/clients/test_sarama.py and tests/cluster/test_sarama_cluster.py.
//
// Usage: saramaclient <command> <bootstrap> [args...]. Each command does what a Go user of sarama would do
// and prints one JSON object on its last line of stdout; expected Kafka errors are reported in that object
// (as sarama's KError number and text), anything unexpected exits 1 with the error on stderr.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
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
