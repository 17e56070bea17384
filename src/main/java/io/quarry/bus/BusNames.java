package io.quarry.bus;

import io.quarry.config.QuarryProperties;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * The one place that knows how queues and exchanges are named (docs/architecture.md, Names on the
 * bus): a base name followed by {@code -<environment>}, e.g. {@code posts-mining-queue-dev}.
 */
@Component
public class BusNames {

  public static final String DEAD_LETTER_SUFFIX = ".dlq";

  private final String environment;

  @Autowired
  public BusNames(QuarryProperties properties) {
    this(properties.environment());
  }

  public BusNames(String environment) {
    this.environment = environment;
  }

  public String environment() {
    return environment;
  }

  public String miningQueue(String stream) {
    return named(stream + "-mining-queue");
  }

  public String parserQueue(String stream) {
    return named(stream + "-parser-queue");
  }

  public String dataTopic(String stream) {
    return named(stream + "-data-topic");
  }

  public String subscriberQueue(String stream, String subscriber) {
    return named(stream + "-data-topic." + subscriber);
  }

  public String integrationEventsExchange() {
    return named("integration-events");
  }

  public String notificationEventsQueue() {
    return named("notification.integration-events");
  }

  /** The queue of the high-priority integration events, consumed beside the normal one. */
  public String highPriorityNotificationEventsQueue() {
    return named("notification.integration-events.high");
  }

  /** Headers exchange that splits the events by priority class (quorum queues only). */
  public String notificationEventsPriorityExchange() {
    return named("notification.integration-events.priority");
  }

  /** Alternate exchange of the priority split: every event that is not high priority. */
  public String notificationEventsNormalExchange() {
    return named("notification.integration-events.normal");
  }

  /** Direct exchange that routes every dead letter to its queue's {@code .dlq}. */
  public String deadLetterExchange() {
    return named("dead-letters");
  }

  /** Direct exchange that delivers a delayed message back to the queue named by its routing key. */
  public String redeliverExchange() {
    return named("redeliver");
  }

  /** Fanout exchange and queue holding messages for {@code seconds} before redelivery. */
  public String delayQueue(long seconds) {
    return named("delay-" + seconds + "s");
  }

  /** {@code posts-mining-queue-dev} becomes {@code posts-mining-queue.dlq-dev}. */
  public String deadLetterQueue(String queue) {
    return named(baseOf(queue) + DEAD_LETTER_SUFFIX);
  }

  /** The name without its environment suffix. */
  public String baseOf(String name) {
    String suffix = "-" + environment;
    if (!name.endsWith(suffix)) {
      throw new IllegalArgumentException(name + " is not a name of environment " + environment);
    }
    return name.substring(0, name.length() - suffix.length());
  }

  private String named(String base) {
    return base + "-" + environment;
  }
}
