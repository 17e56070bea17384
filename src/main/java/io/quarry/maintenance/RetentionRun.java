package io.quarry.maintenance;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.config.RetentionProperties;
import io.quarry.maintenance.JobExecutionRepository.Trigger;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.camel.Exchange;
import org.apache.camel.Header;
import org.apache.camel.Variable;
import org.quartz.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The bookkeeping of one run of the retention job ({@code PurgeHistoryJob}): what each table is
 * kept for, the rows deleted per table, and the run's record in {@code job_execution} with its
 * outcome, like every maintenance job. The route deletes.
 */
@Component
public class RetentionRun {

  /** Variables of a run: when it started, how it was triggered, the rows deleted per table. */
  public static final String STARTED = "retentionStarted";

  public static final String FIRED = "retentionFired";
  public static final String TRIGGER = "retentionTrigger";
  public static final String COUNTS = "retentionCounts";

  /** Headers of the delete statements. */
  public static final String TABLE = "retentionTable";

  public static final String RETENTION_SECONDS = "retentionSeconds";
  public static final String BATCH_SIZE = "batchSize";

  /** The tables the job purges, in order, each with its file in {@code sql/retention/}. */
  public static final String[] TABLES = {
    "job_execution", "job_action", "scheduler_run", "processed_message"
  };

  private static final Logger log = LoggerFactory.getLogger(RetentionRun.class);
  private static final String JOB = "PurgeHistoryJob";
  private static final String EFFECT = "history row(s) deleted";

  private final RetentionProperties retention;
  private final JobExecutionRepository executions;
  private final Scheduler scheduler;
  private final MeterRegistry metrics;
  private final Clock clock;

  public RetentionRun(
      io.quarry.config.QuarryProperties properties,
      JobExecutionRepository executions,
      Scheduler scheduler,
      MeterRegistry metrics,
      Clock clock) {
    this.retention = properties.scheduler().retention();
    this.executions = executions;
    this.scheduler = scheduler;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** Starts a run: {@code fireTime} and {@code mergedJobDataMap} come from Quartz, if it fired. */
  public void start(
      Exchange exchange,
      @Header("fireTime") Date fireTime,
      @Header("mergedJobDataMap") Map<String, Object> jobData) {
    Instant now = clock.instant();
    exchange.setVariable(STARTED, now);
    exchange.setVariable(FIRED, fireTime != null ? fireTime.toInstant() : now);
    exchange.setVariable(TRIGGER, MaintenanceJobRunner.triggerOf(jobData));
    exchange.setVariable(COUNTS, new LinkedHashMap<String, Long>());
    exchange.getMessage().setHeader(BATCH_SIZE, retention.batchSize());
  }

  /** How long rows of the table are kept, in seconds (the statements' parameter). */
  public double retentionSeconds(@Header(TABLE) String table) {
    Duration keep =
        switch (table) {
          case "job_execution" -> retention.jobExecution();
          case "job_action" -> retention.jobAction();
          case "scheduler_run" -> retention.schedulerRun();
          case "processed_message" -> retention.processedMessage();
          default -> throw new IllegalArgumentException("no retention for " + table);
        };
    return keep.toMillis() / 1000.0;
  }

  /**
   * Adds one statement's deleted rows to the table's count.
   *
   * @return the rows the statement deleted (a full batch means there may be more)
   */
  public int deleted(
      @Header(TABLE) String table,
      @Header("CamelSqlUpdateCount") Integer deleted,
      @Variable(COUNTS) Map<String, Long> counts) {
    int rows = deleted == null ? 0 : deleted;
    counts.merge(table, (long) rows, Long::sum);
    metrics.counter("quarry.retention.deleted", "table", table).increment(rows);
    return rows;
  }

  /** Whether the last statement deleted a full batch, so the table may hold more. */
  public boolean fullBatch(@Variable("retentionLastDeleted") Integer deleted) {
    return deleted != null && deleted >= retention.batchSize();
  }

  /**
   * Records the run as succeeded with its effect ({@code 2,503 history rows deleted}), the rows
   * deleted per table in the log.
   */
  public long succeeded(
      @Variable(STARTED) Instant started,
      @Variable(FIRED) Instant fired,
      @Variable(TRIGGER) Trigger trigger,
      @Variable(COUNTS) Map<String, Long> counts) {
    long total = counts.values().stream().mapToLong(Long::longValue).sum();
    long id =
        executions.recordQueued(
            JOB, MaintenanceJobRunner.instanceId(scheduler), fired, started, trigger);
    executions.recordEffect(id, total, EFFECT);
    log.info(
        "{} ({}) deleted {} rows: {}",
        JOB,
        trigger.source(),
        total,
        counts.entrySet().stream()
            .map(e -> e.getKey() + " " + e.getValue())
            .collect(Collectors.joining(", ")));
    metrics.counter("quarry.job.executions", "job", JOB, "outcome", "succeeded").increment();
    return id;
  }

  /** Records the run as failed with the error; rows deleted before it stay deleted. */
  public long failed(
      @Variable(STARTED) Instant started,
      @Variable(FIRED) Instant fired,
      @Variable(TRIGGER) Trigger trigger,
      @Variable(COUNTS) Map<String, Long> counts,
      Exchange exchange) {
    Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
    long id =
        executions.recordFailed(
            JOB, MaintenanceJobRunner.instanceId(scheduler), fired, started, trigger, error);
    metrics.counter("quarry.job.executions", "job", JOB, "outcome", "failed").increment();
    log.error(
        "{} ({}) failed after deleting {}: {}",
        JOB,
        trigger.source(),
        counts,
        error == null ? "unknown error" : error.getMessage(),
        error);
    return id;
  }
}
