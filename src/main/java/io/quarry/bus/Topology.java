package io.quarry.bus;

import io.quarry.config.QuarryProperties;
import io.quarry.config.QuarryProperties.Rabbitmq.QueueType;
import io.quarry.config.QuarryProperties.Rabbitmq.QueueTypes;
import io.quarry.config.StreamProperties;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every exchange, queue and binding Quarry needs on the broker, derived from configuration. Each
 * work queue dead-letters (reject without requeue, expiry) through the dead-letter exchange into
 * its own {@code .dlq}, so no dead letter is ever dropped for want of a route.
 *
 * <p>Each kind of queue is classic or quorum ({@code quarry.rabbitmq.queue-types}). A quorum queue
 * that dead-letters does so at least once (the message stays in its queue until the target queue
 * has confirmed it), so a node lost while a message moves to a {@code .dlq} or back from a delay
 * tier loses nothing. Quorum queues have no priorities: the integration events then go through a
 * headers exchange that sends the high-priority ones ({@link #HIGH_PRIORITY_HEADER} {@code = high})
 * to a queue of their own, with a consumer of its own, and everything else, through its alternate
 * exchange, to the normal queue.
 */
public record Topology(List<Exchange> exchanges, List<Queue> queues, List<Binding> bindings) {

  /** Maximum AMQP priority of the integration-events queue (high-priority jobs jump the line). */
  public static final int EVENT_PRIORITIES = 10;

  /**
   * Header of an integration event that says {@code high} for a priority above {@link
   * #NORMAL_PRIORITY}; it routes the event on quorum queues, which have no priorities.
   */
  public static final String HIGH_PRIORITY_HEADER = "quarry-priority-class";

  /** The value of {@link #HIGH_PRIORITY_HEADER} of a high-priority event. */
  public static final String HIGH = "high";

  /** The priority of an ordinary job; anything above it is high. */
  public static final int NORMAL_PRIORITY = 5;

  /** The {@link #HIGH_PRIORITY_HEADER} value of an event of this AMQP priority. */
  public static String priorityClass(Integer priority) {
    return priority != null && priority > NORMAL_PRIORITY ? HIGH : "normal";
  }

  public record Exchange(String name, String type, Map<String, Object> arguments) {
    public Exchange(String name, String type) {
      this(name, type, Map.of());
    }
  }

  /** What a queue is for. */
  public enum Kind {
    WORK,
    DEAD_LETTER,
    DELAY
  }

  public record Queue(String name, Kind kind, Map<String, Object> arguments) {}

  /**
   * Delays available for re-queueing (429 back-off, transient dead letters): a message waits in the
   * smallest tier that is at least the delay asked for, then goes back to its queue.
   */
  public static final List<Long> DELAY_SECONDS = List.of(1L, 5L, 30L, 300L);

  /** A binding of a queue, or with {@code toExchange} of an exchange, to an exchange. */
  public record Binding(
      String exchange,
      String queue,
      String routingKey,
      Map<String, Object> arguments,
      boolean toExchange) {
    public Binding(String exchange, String queue, String routingKey) {
      this(exchange, queue, routingKey, Map.of(), false);
    }
  }

  public static Topology of(QuarryProperties properties, BusNames names) {
    QueueTypes types =
        properties.rabbitmq() == null ? QueueTypes.CLASSIC : properties.rabbitmq().queueTypes();
    Builder builder = new Builder(names, types);
    properties.streams().forEach((stream, config) -> builder.stream(stream, config));
    builder.integrationEvents();
    return builder.build();
  }

  /** The queues that carry work (not dead-letter or delay queues). */
  public List<Queue> workQueues() {
    return queues.stream().filter(q -> q.kind() == Kind.WORK).toList();
  }

  private static final class Builder {
    private final BusNames names;
    private final QueueTypes types;
    private final List<Exchange> exchanges = new ArrayList<>();
    private final List<Queue> queues = new ArrayList<>();
    private final List<Binding> bindings = new ArrayList<>();

    Builder(BusNames names, QueueTypes types) {
      this.names = names;
      this.types = types;
      exchanges.add(new Exchange(names.deadLetterExchange(), "direct"));
      exchanges.add(new Exchange(names.redeliverExchange(), "direct"));
      for (long seconds : DELAY_SECONDS) {
        String delay = names.delayQueue(seconds);
        exchanges.add(new Exchange(delay, "fanout"));
        // No dead-letter routing key: an expired message keeps its own, the target queue's name.
        Map<String, Object> arguments = new LinkedHashMap<>();
        arguments.put("x-message-ttl", seconds * 1000);
        arguments.put("x-dead-letter-exchange", names.redeliverExchange());
        queues.add(queue(delay, Kind.DELAY, types.delay(), arguments));
        bindings.add(new Binding(delay, delay, ""));
      }
    }

    void stream(String stream, StreamProperties config) {
      workQueue(names.miningQueue(stream), types.work(), Map.of());
      if (config.parser()) {
        workQueue(names.parserQueue(stream), types.work(), Map.of());
      }
      String topic = names.dataTopic(stream);
      exchanges.add(new Exchange(topic, "fanout"));
      for (String subscriber : config.subscribers()) {
        String queue = names.subscriberQueue(stream, subscriber);
        workQueue(queue, types.work(), Map.of());
        bindings.add(new Binding(topic, queue, ""));
      }
    }

    /**
     * Classic: one priority queue bound to the events exchange; the high-priority queue is declared
     * (its consumer always runs) but nothing routes to it. Quorum: a headers exchange splits high
     * from normal, as quorum queues refuse {@code x-max-priority}.
     */
    void integrationEvents() {
      String exchange = names.integrationEventsExchange();
      exchanges.add(new Exchange(exchange, "topic"));
      String queue = names.notificationEventsQueue();
      String high = names.highPriorityNotificationEventsQueue();
      if (types.events() == QueueType.CLASSIC) {
        workQueue(queue, QueueType.CLASSIC, Map.of("x-max-priority", EVENT_PRIORITIES));
        workQueue(high, QueueType.CLASSIC, Map.of());
        bindings.add(new Binding(exchange, queue, "#"));
        return;
      }
      workQueue(queue, QueueType.QUORUM, Map.of());
      workQueue(high, QueueType.QUORUM, Map.of());
      String split = names.notificationEventsPriorityExchange();
      String normal = names.notificationEventsNormalExchange();
      exchanges.add(new Exchange(normal, "fanout"));
      exchanges.add(new Exchange(split, "headers", Map.of("alternate-exchange", normal)));
      bindings.add(new Binding(exchange, split, "#", Map.of(), true));
      bindings.add(
          new Binding(
              split, high, "", Map.of("x-match", "all", HIGH_PRIORITY_HEADER, HIGH), false));
      bindings.add(new Binding(normal, queue, ""));
    }

    private void workQueue(String name, QueueType type, Map<String, Object> extra) {
      String dlq = names.deadLetterQueue(name);
      Map<String, Object> arguments = new LinkedHashMap<>();
      arguments.put("x-dead-letter-exchange", names.deadLetterExchange());
      arguments.put("x-dead-letter-routing-key", dlq);
      arguments.putAll(extra);
      queues.add(queue(name, Kind.WORK, type, arguments));
      queues.add(queue(dlq, Kind.DEAD_LETTER, types.deadLetter(), new LinkedHashMap<>()));
      bindings.add(new Binding(names.deadLetterExchange(), dlq, dlq));
      bindings.add(new Binding(names.redeliverExchange(), name, name));
      bindings.add(new Binding(names.redeliverExchange(), dlq, dlq));
    }

    /**
     * The queue with the arguments of its type: a quorum queue that dead-letters does so at least
     * once, which RabbitMQ allows only with {@code x-overflow=reject-publish}.
     */
    private static Queue queue(
        String name, Kind kind, QueueType type, Map<String, Object> arguments) {
      if (type == QueueType.QUORUM) {
        arguments.put("x-queue-type", "quorum");
        if (arguments.containsKey("x-dead-letter-exchange")) {
          arguments.put("x-dead-letter-strategy", "at-least-once");
          arguments.put("x-overflow", "reject-publish");
        }
      }
      return new Queue(name, kind, Collections.unmodifiableMap(arguments));
    }

    Topology build() {
      return new Topology(List.copyOf(exchanges), List.copyOf(queues), List.copyOf(bindings));
    }
  }
}
