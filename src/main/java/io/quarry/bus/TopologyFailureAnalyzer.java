package io.quarry.bus;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Reports a queue or exchange that exists on the broker with other settings. */
public class TopologyFailureAnalyzer extends AbstractFailureAnalyzer<TopologyMismatchException> {

  /** What the operator does about it; the document is the repository's own. */
  static final String ACTION =
      "Quarry declares every exchange and queue itself, durable and with the arguments listed"
          + " under \"Names on the bus\" in docs/architecture.md (a work queue carries its"
          + " dead-letter exchange and routing key) and of the type quarry.rabbitmq.queue-types"
          + " gives it (x-queue-type classic or quorum). A queue made by hand, by an older version"
          + " of Quarry or with another queue type must be drained and deleted first (or the queue"
          + " type set back); or set quarry.environment to a suffix that no other deployment uses."
          + " Then start again.";

  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, TopologyMismatchException cause) {
    return new FailureAnalysis(cause.getMessage(), ACTION, cause);
  }
}
