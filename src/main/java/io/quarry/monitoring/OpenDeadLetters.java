package io.quarry.monitoring;

/**
 * How many parked dead letters wait for a replay or discard decision: the figure behind {@code
 * quarry.dead.letters.open}, provided by the dead-letter side so that monitoring does not depend on
 * it.
 */
public interface OpenDeadLetters {

  long openCount();
}
