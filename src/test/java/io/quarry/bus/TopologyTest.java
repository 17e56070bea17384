package io.quarry.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TopologyTest {

  private final BusNames names = new BusNames("qa");

  @Test
  void aFourthStreamIsOnlyConfiguration() {
    Map<String, StreamProperties> streams = new LinkedHashMap<>();
    streams.put("posts", stream(false, "raw-storage"));
    streams.put("videos", stream(true, "raw-storage", "analytics"));

    Topology topology = Topology.of(properties(streams), names);

    assertThat(topology.workQueues())
        .extracting(Topology.Queue::name)
        .containsExactly(
            "posts-mining-queue-qa",
            "posts-data-topic.raw-storage-qa",
            "videos-mining-queue-qa",
            "videos-parser-queue-qa",
            "videos-data-topic.raw-storage-qa",
            "videos-data-topic.analytics-qa",
            "notification.integration-events-qa");
    assertThat(topology.exchanges())
        .contains(
            new Topology.Exchange("videos-data-topic-qa", "fanout"),
            new Topology.Exchange("integration-events-qa", "topic"),
            new Topology.Exchange("dead-letters-qa", "direct"));
    assertThat(topology.bindings())
        .contains(
            new Topology.Binding("videos-data-topic-qa", "videos-data-topic.analytics-qa", ""));
  }

  @Test
  void everyWorkQueueHasADeadLetterQueueBoundUnderItsOwnName() {
    Topology topology = Topology.of(properties(Map.of("ads", stream(false, "analytics"))), names);
    for (Topology.Queue queue : topology.workQueues()) {
      String dlq = names.deadLetterQueue(queue.name());
      assertThat(queue.arguments())
          .containsEntry("x-dead-letter-exchange", "dead-letters-qa")
          .containsEntry("x-dead-letter-routing-key", dlq);
      assertThat(topology.queues()).extracting(Topology.Queue::name).contains(dlq);
      assertThat(topology.bindings()).contains(new Topology.Binding("dead-letters-qa", dlq, dlq));
    }
    assertThat(names.deadLetterQueue("ads-mining-queue-qa")).isEqualTo("ads-mining-queue.dlq-qa");
  }

  @Test
  void refusesANameOfAnotherEnvironment() {
    assertThatThrownBy(() -> names.baseOf("posts-mining-queue-prod"))
        .hasMessageContaining("not a name of environment qa");
  }

  private static StreamProperties stream(boolean parser, String... subscribers) {
    return new StreamProperties("0 * * * * ?", "/x", 10, 1, parser, List.of(subscribers), 0);
  }

  private static QuarryProperties properties(Map<String, StreamProperties> streams) {
    return new QuarryProperties(
        "qa", null, null, null, null, streams, null, null, null, null, null, null);
  }
}
