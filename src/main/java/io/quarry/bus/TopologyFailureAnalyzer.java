package io.quarry.bus;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Reports a queue or exchange that exists on the broker with other settings. */
public class TopologyFailureAnalyzer extends AbstractFailureAnalyzer<TopologyMismatchException> {

  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, TopologyMismatchException cause) {
    return new FailureAnalysis(
        cause.getMessage(),
        "Quarry declares every queue durable with a dead-letter exchange (docs/architecture.md). "
            + "A queue made by hand or by an older version must be drained and deleted first.",
        cause);
  }
}
