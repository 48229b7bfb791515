// Producer commands: a SyncProducer (acks=all, idempotent) and an AsyncProducer with compression.

package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

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
