package io.quarry.deadletter;

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

  /** Exchange property: the queue the failing message was consumed from. */
  public static final String SOURCE_QUEUE_PROPERTY = "quarrySourceQueue";

  /** Exchange property: whether the failure may heal by itself (retry) or never will (park). */
  public static final String TRANSIENT_PROPERTY = "quarryTransientFailure";

  private DeadLetterHeaders() {}
}
