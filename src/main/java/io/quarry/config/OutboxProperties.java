package io.quarry.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;

/**
 * The transactional outbox relay.
 *
 * @param pollInterval fallback poll of pending events (the query delay)
 * @param listenNotify wake the relay on commit with PostgreSQL LISTEN/NOTIFY
 * @param batchSize events claimed and published per transaction
 * @param confirmTimeout how long to wait for the broker's confirms of a batch
 * @param maxBackoff longest wait before an unpublished event is tried again
 * @param retention how long published events are kept before they are pruned
 */
public record OutboxProperties(
    @NotNull Duration pollInterval,
    boolean listenNotify,
    @Min(1) @Max(5000) int batchSize,
    @NotNull Duration confirmTimeout,
    @NotNull Duration maxBackoff,
    @NotNull Duration retention) {}
