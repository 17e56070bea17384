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

  /** The worker route of a stream's scheduler tick (the Quartz trigger and a manual run use it). */
  public static String schedulerWorker(String stream) {
    return "direct:" + stream + "-scheduler";
  }
}
