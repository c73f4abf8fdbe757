// Reads topics from the beginning to their end with Kafka's own Java consumer (kafka-clients) and
// prints one JSON line per record: the ground truth for what a read_committed (or
// read_uncommitted) consumer sees. Run as a single-file program (Java 11+):
//
//   java -cp 'test/kafka/lib/*' test/kafka/tools/ReadTopic.java BOOTSTRAP read_committed|read_uncommitted TIMEOUT_MS TOPIC...
//
// "End" is each partition's end offset as listed at the start under the chosen isolation level
// (the last stable offset for read_committed, the high watermark otherwise). Key, value and header
// values are base64 (null for a null key or value). Exit code 2 when the end isn't reached in time.
// (The ConsoleConsumer tool lives in kafka-tools, which test/kafka/lib does not resolve; this uses
// the same KafkaConsumer it wraps.)
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class ReadTopic {
  static String b64(byte[] b) {
    return b == null ? "null" : "\"" + Base64.getEncoder().encodeToString(b) + "\"";
  }

  static String str(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String isolation = args[1];
    long timeoutMs = Long.parseLong(args[2]);
    List<String> topics = Arrays.asList(args).subList(3, args.length);
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("isolation.level", isolation);
    props.put("enable.auto.commit", "false");
    props.put("auto.offset.reset", "earliest");
    props.put("key.deserializer", ByteArrayDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());
    long deadline = System.currentTimeMillis() + timeoutMs;
    StringBuilder out = new StringBuilder();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (String topic : topics)
        for (PartitionInfo pi : consumer.partitionsFor(topic, Duration.ofMillis(timeoutMs)))
          tps.add(new TopicPartition(topic, pi.partition()));
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(tps, Duration.ofMillis(timeoutMs)));
      Set<TopicPartition> remaining = new HashSet<>();
      for (TopicPartition tp : tps) if (consumer.position(tp) < end.get(tp)) remaining.add(tp);
      while (!remaining.isEmpty()) {
        if (System.currentTimeMillis() > deadline) {
          System.out.print(out);
          System.err.println("ReadTopic: end not reached within " + timeoutMs + " ms; left: " + remaining);
          System.exit(2);
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          TopicPartition tp = new TopicPartition(r.topic(), r.partition());
          if (r.offset() >= end.get(tp)) continue;
          out.append("{\"t\":").append(str(r.topic())).append(",\"p\":").append(r.partition())
              .append(",\"o\":").append(r.offset()).append(",\"ts\":").append(r.timestamp())
              .append(",\"k\":").append(b64(r.key())).append(",\"v\":").append(b64(r.value()))
              .append(",\"h\":[");
          boolean first = true;
          for (Header h : r.headers()) {
            if (!first) out.append(',');
            first = false;
            out.append('[').append(str(h.key())).append(',').append(b64(h.value())).append(']');
          }
          out.append("]}\n");
        }
        remaining.removeIf(tp -> consumer.position(tp) >= end.get(tp));
      }
    }
    System.out.print(out);
    System.out.flush();
  }
}
