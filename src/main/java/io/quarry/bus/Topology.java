package io.quarry.bus;

import io.quarry.config.QuarryProperties;
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
 */
public record Topology(List<Exchange> exchanges, List<Queue> queues, List<Binding> bindings) {

  /** Maximum AMQP priority of the integration-events queue (high-priority jobs jump the line). */
  public static final int EVENT_PRIORITIES = 10;

  public record Exchange(String name, String type) {}

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

  public record Binding(String exchange, String queue, String routingKey) {}

  public static Topology of(QuarryProperties properties, BusNames names) {
    Builder builder = new Builder(names);
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
    private final List<Exchange> exchanges = new ArrayList<>();
    private final List<Queue> queues = new ArrayList<>();
    private final List<Binding> bindings = new ArrayList<>();

    Builder(BusNames names) {
      this.names = names;
      exchanges.add(new Exchange(names.deadLetterExchange(), "direct"));
      exchanges.add(new Exchange(names.redeliverExchange(), "direct"));
      for (long seconds : DELAY_SECONDS) {
        String delay = names.delayQueue(seconds);
        exchanges.add(new Exchange(delay, "fanout"));
        // No dead-letter routing key: an expired message keeps its own, the target queue's name.
        queues.add(
            new Queue(
                delay,
                Kind.DELAY,
                Map.of(
                    "x-message-ttl",
                    seconds * 1000,
                    "x-dead-letter-exchange",
                    names.redeliverExchange())));
        bindings.add(new Binding(delay, delay, ""));
      }
    }

    void stream(String stream, StreamProperties config) {
      workQueue(names.miningQueue(stream), Map.of());
      if (config.parser()) {
        workQueue(names.parserQueue(stream), Map.of());
      }
      String topic = names.dataTopic(stream);
      exchanges.add(new Exchange(topic, "fanout"));
      for (String subscriber : config.subscribers()) {
        String queue = names.subscriberQueue(stream, subscriber);
        workQueue(queue, Map.of());
        bindings.add(new Binding(topic, queue, ""));
      }
    }

    void integrationEvents() {
      String exchange = names.integrationEventsExchange();
      exchanges.add(new Exchange(exchange, "topic"));
      String queue = names.notificationEventsQueue();
      workQueue(queue, Map.of("x-max-priority", EVENT_PRIORITIES));
      bindings.add(new Binding(exchange, queue, "#"));
    }

    private void workQueue(String name, Map<String, Object> extra) {
      String dlq = names.deadLetterQueue(name);
      Map<String, Object> arguments = new LinkedHashMap<>();
      arguments.put("x-dead-letter-exchange", names.deadLetterExchange());
      arguments.put("x-dead-letter-routing-key", dlq);
      arguments.putAll(extra);
      queues.add(new Queue(name, Kind.WORK, Collections.unmodifiableMap(arguments)));
      queues.add(new Queue(dlq, Kind.DEAD_LETTER, Map.of()));
      bindings.add(new Binding(names.deadLetterExchange(), dlq, dlq));
      bindings.add(new Binding(names.redeliverExchange(), name, name));
      bindings.add(new Binding(names.redeliverExchange(), dlq, dlq));
    }

    Topology build() {
      return new Topology(List.copyOf(exchanges), List.copyOf(queues), List.copyOf(bindings));
    }
  }
}
