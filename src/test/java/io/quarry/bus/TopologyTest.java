package io.quarry.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarry.config.QuarryProperties;
import io.quarry.config.QuarryProperties.Rabbitmq.QueueType;
import io.quarry.config.QuarryProperties.Rabbitmq.QueueTypes;
import io.quarry.config.StreamProperties;
import java.time.Duration;
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
            "notification.integration-events-qa",
            "notification.integration-events.high-qa");
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
  void classicQueuesKeepTheirArgumentsAndThePriorityQueueOfEvents() {
    Topology topology = Topology.of(properties(Map.of("ads", stream(false, "analytics"))), names);

    assertThat(topology.queues())
        .allSatisfy(q -> assertThat(q.arguments()).doesNotContainKeys("x-queue-type"));
    assertThat(queue(topology, "notification.integration-events-qa").arguments())
        .containsEntry("x-max-priority", 10);
    assertThat(topology.bindings())
        .contains(
            new Topology.Binding(
                "integration-events-qa", "notification.integration-events-qa", "#"))
        .noneMatch(
            b ->
                b.queue().equals("notification.integration-events.high-qa")
                    && !b.exchange().equals("redeliver-qa"));
  }

  @Test
  void quorumQueuesDeadLetterAtLeastOnceAndKeepTheirTtl() {
    QueueTypes quorum =
        new QueueTypes(QueueType.QUORUM, QueueType.QUORUM, QueueType.QUORUM, QueueType.QUORUM);
    Topology topology =
        Topology.of(properties(Map.of("ads", stream(false, "analytics")), quorum), names);

    assertThat(topology.queues())
        .allSatisfy(
            q ->
                assertThat(q.arguments())
                    .as(q.name())
                    .containsEntry("x-queue-type", "quorum")
                    .doesNotContainKey("x-max-priority"));
    assertThat(topology.queues())
        .filteredOn(q -> q.arguments().containsKey("x-dead-letter-exchange"))
        .hasSize(topology.workQueues().size() + Topology.DELAY_SECONDS.size())
        .allSatisfy(
            q ->
                assertThat(q.arguments())
                    .as(q.name())
                    .containsEntry("x-dead-letter-strategy", "at-least-once")
                    .containsEntry("x-overflow", "reject-publish"));
    assertThat(queue(topology, "delay-5s-qa").arguments())
        .containsEntry("x-message-ttl", 5000L)
        .containsEntry("x-dead-letter-exchange", "redeliver-qa");
  }

  @Test
  void onQuorumQueuesHighPriorityEventsGoToAQueueOfTheirOwn() {
    QueueTypes events =
        new QueueTypes(QueueType.CLASSIC, QueueType.QUORUM, QueueType.CLASSIC, QueueType.CLASSIC);
    Topology topology =
        Topology.of(properties(Map.of("ads", stream(false, "analytics")), events), names);

    assertThat(topology.exchanges())
        .contains(
            new Topology.Exchange(
                "notification.integration-events.priority-qa",
                "headers",
                Map.of("alternate-exchange", "notification.integration-events.normal-qa")),
            new Topology.Exchange("notification.integration-events.normal-qa", "fanout"));
    assertThat(topology.bindings())
        .contains(
            new Topology.Binding(
                "integration-events-qa",
                "notification.integration-events.priority-qa",
                "#",
                Map.of(),
                true),
            new Topology.Binding(
                "notification.integration-events.priority-qa",
                "notification.integration-events.high-qa",
                "",
                Map.of("x-match", "all", Topology.HIGH_PRIORITY_HEADER, "high"),
                false),
            new Topology.Binding(
                "notification.integration-events.normal-qa",
                "notification.integration-events-qa",
                ""))
        .noneMatch(
            b ->
                b.exchange().equals("integration-events-qa")
                    && b.queue().equals("notification.integration-events-qa"));
    assertThat(queue(topology, "ads-mining-queue-qa").arguments())
        .doesNotContainKey("x-queue-type");
    assertThat(queue(topology, "notification.integration-events.dlq-qa").arguments())
        .doesNotContainKey("x-queue-type");
  }

  @Test
  void onlyAPriorityAboveNormalIsHigh() {
    assertThat(Topology.priorityClass(10)).isEqualTo("high");
    assertThat(Topology.priorityClass(6)).isEqualTo("high");
    assertThat(Topology.priorityClass(5)).isEqualTo("normal");
    assertThat(Topology.priorityClass(0)).isEqualTo("normal");
    assertThat(Topology.priorityClass(null)).isEqualTo("normal");
  }

  @Test
  void refusesANameOfAnotherEnvironment() {
    assertThatThrownBy(() -> names.baseOf("posts-mining-queue-prod"))
        .hasMessageContaining("not a name of environment qa");
  }

  private static StreamProperties stream(boolean parser, String... subscribers) {
    return new StreamProperties("0 * * * * ?", "/x", 10, 1, parser, List.of(subscribers), 0);
  }

  private static Topology.Queue queue(Topology topology, String name) {
    return topology.queues().stream().filter(q -> q.name().equals(name)).findFirst().orElseThrow();
  }

  private static QuarryProperties properties(Map<String, StreamProperties> streams) {
    return new QuarryProperties(
        "qa", null, null, null, null, streams, null, null, null, null, null, null);
  }

  private static QuarryProperties properties(
      Map<String, StreamProperties> streams, QueueTypes types) {
    var rabbit =
        new QuarryProperties.Rabbitmq(
            "localhost",
            5672,
            "guest",
            "guest",
            "/",
            false,
            15672,
            Duration.ofSeconds(5),
            "",
            "",
            types);
    return new QuarryProperties(
        "qa", null, rabbit, null, null, streams, null, null, null, null, null, null);
  }
}
