package io.quarry.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;

/**
 * How miners, subscribers and dead-letter handling behave, for every stream.
 *
 * @param consumers concurrent consumers of each mining queue
 * @param prefetch unacknowledged messages a mining consumer may hold
 * @param subscriberConsumers concurrent consumers of each subscriber and parser queue
 * @param consecutiveBatchRepeatsLimit a user's chain stops when the API repeats a marker this often
 * @param maxPagesPerRun a user's chain stops after this many pages in one run
 * @param publishBatchSize scheduler messages published per confirm window
 * @param compressionThreshold payloads above this many bytes are gzip-compressed
 * @param staleChainAfter a chain still in progress after this long no longer blocks the next tick
 * @param abandonedTickAfter a tick that gave no sign of life for this long (its instance died
 *     during the fan-out) is closed as failed and its unsent users released to the next tick
 * @param redeliveries attempts after the first for a transient failure, inside the route
 * @param redeliveryDelay first redelivery delay, doubled each time
 * @param deadLetterRetries times a transient dead letter is re-queued before it is parked
 */
public record MiningProperties(
    @Min(1) @Max(200) int consumers,
    @Min(1) @Max(10_000) int prefetch,
    @Min(1) @Max(200) int subscriberConsumers,
    @Min(1) @Max(100) int consecutiveBatchRepeatsLimit,
    @Min(1) int maxPagesPerRun,
    @Min(1) @Max(10_000) int publishBatchSize,
    @Min(1024) int compressionThreshold,
    @NotNull Duration staleChainAfter,
    @NotNull Duration abandonedTickAfter,
    @Min(0) @Max(20) int redeliveries,
    @NotNull Duration redeliveryDelay,
    @Min(0) @Max(20) int deadLetterRetries) {}
