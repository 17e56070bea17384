package io.quarry.flow;

/**
 * The in-JVM endpoints by which beans and controllers hand work to a route (a manual tick, a
 * wake-up of the outbox relay). They sit below both sides, so that no bean imports a route class.
 */
public final class FlowEndpoints {

  /** Wakes the outbox relay; a wake-up while one is pending is dropped (one relay run suffices). */
  public static final String OUTBOX_WAKEUP = "seda:outbox-wakeup?size=1&discardWhenFull=true";

  /** The outbox relay's worker route. */
  public static final String OUTBOX_RELAY = "direct:outbox-relay";

  private FlowEndpoints() {}

  /**
   * Header of a manual tick sent to {@link #schedulerWorker}: the admin who asked for it (the
   * Quartz trigger sends none), recorded with the run.
   */
  public static final String TRIGGERED_BY = "QuarryTriggeredBy";

  /** The worker route of a stream's scheduler tick (the Quartz trigger and a manual run use it). */
  public static String schedulerWorker(String stream) {
    return "direct:" + stream + "-scheduler";
  }

  // Dead letters (routes/deadletter), owned by the dead-letter flows.

  /**
   * The end of the bus dead letter channel: the failed exchange, with its original message, goes to
   * its queue's {@code .dlq}; the call fails unless the broker confirmed the dead letter.
   */
  public static final String DEAD_LETTER = "direct:dead-letter";

  /**
   * Replays a parked dead letter: body a {@code DeadLetterReplay.Request}, answer a {@code
   * DeadLetterReplay.Outcome}; fails with the reason when the letter is unknown or refused.
   */
  public static final String DEAD_LETTER_REPLAY = "direct:dead-letter-replay";
}
