package io.quarry.config;

import io.quarry.config.validation.QuartzCron;
import io.quarry.config.validation.TimeZoneName;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;

/**
 * The retention job ({@code PurgeHistoryJob}): deletes old rows of the history tables in batches,
 * on its own cron through the clustered scheduler.
 *
 * @param cron 6-field Quartz cron of the purge
 * @param timeZone time zone the cron is read in
 * @param priority Quartz trigger priority, 0-10
 * @param batchSize rows deleted per statement (each its own short transaction)
 * @param jobExecution job runs ({@code job_execution}) older than this are deleted
 * @param jobAction operator actions ({@code job_action}, the audit trail) older than this
 * @param schedulerRun stream scheduler ticks ({@code scheduler_run}) older than this
 * @param processedMessage message ids remembered for de-duplication ({@code processed_message})
 *     older than this: keep it longer than any redelivery or dead-letter replay may come late
 */
public record RetentionProperties(
    @QuartzCron String cron,
    @NotNull @TimeZoneName String timeZone,
    @Min(0) @Max(10) int priority,
    @Min(1) @Max(100_000) int batchSize,
    @NotNull Duration jobExecution,
    @NotNull Duration jobAction,
    @NotNull Duration schedulerRun,
    @NotNull Duration processedMessage) {}
