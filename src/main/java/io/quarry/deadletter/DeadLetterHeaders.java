package io.quarry.deadletter;

import io.quarry.bus.HeaderValues;

/** AMQP headers Quarry puts on a dead letter (its own: RabbitMQ 4 ignores client-set x-death). */
public final class DeadLetterHeaders {

  public static final String SOURCE_QUEUE = "x-quarry-source-queue";
  public static final String REASON = "x-quarry-reason";
  public static final String EXCEPTION = "x-quarry-exception";
  public static final String ROUTE = "x-quarry-route";
  public static final String ATTEMPTS = "x-quarry-attempts";
  public static final String TRANSIENT = "x-quarry-transient";
  public static final String FAILED_AT = "x-quarry-failed-at";
  public static final String RETRIES = "x-quarry-dead-letter-retries";

  /**
   * A count that Quarry wrote in one of these headers ({@link #ATTEMPTS}, {@link #RETRIES}), or 0
   * when it is absent or not a whole number from 0 to 1,000,000: a message from another publisher
   * may carry anything under these names, and reading it must not break dead-lettering.
   */
  public static int count(Object header) {
    long value = HeaderValues.wholeNumber(header).orElse(0);
    return value >= 0 && value <= 1_000_000 ? (int) value : 0;
  }

  /** Exchange property: the queue the failing message was consumed from. */
  public static final String SOURCE_QUEUE_PROPERTY = "quarrySourceQueue";

  /** Exchange property: whether the failure may heal by itself (retry) or never will (park). */
  public static final String TRANSIENT_PROPERTY = "quarryTransientFailure";

  private DeadLetterHeaders() {}
}
