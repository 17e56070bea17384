package io.quarry.routes.maintenance;

import io.quarry.maintenance.MaintenanceJobs;
import io.quarry.maintenance.RetentionRun;
import io.quarry.routes.scheduling.ClusteredJobs;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.model.TryDefinition;
import org.springframework.stereotype.Component;

/**
 * The retention job {@code PurgeHistoryJob}: on its clustered trigger ({@code
 * quarry.scheduler.retention.cron}, paused, resumed and run now like every maintenance job) it
 * deletes the rows of {@code job_execution}, {@code job_action}, {@code scheduler_run} and {@code
 * processed_message} older than their retention, batch after batch (each statement its own short
 * transaction, so no long lock), and records the run in {@code job_execution}.
 */
@Component
public class RetentionRoutes extends RouteBuilder {

  public static final String PURGE = "direct:purge-history";

  private static final String LAST_DELETED = "retentionLastDeleted";

  private final MaintenanceJobs jobs;

  public RetentionRoutes(MaintenanceJobs jobs) {
    this.jobs = jobs;
  }

  @Override
  public void configure() {
    MaintenanceJobs.Job job =
        jobs.byName(MaintenanceJobs.PURGE_HISTORY)
            .orElseThrow(() -> new IllegalStateException("no retention job configured"));
    from(ClusteredJobs.trigger(
            MaintenanceJobs.GROUP + "/" + job.name(),
            job.properties().cron(),
            job.properties().priority()))
        .routeId(job.routeId())
        .to(PURGE);

    RouteDefinition purge = from(PURGE).routeId("purge-history").bean(RetentionRun.class, "start");
    TryDefinition run = purge.doTry();
    for (String table : RetentionRun.TABLES) {
      run.setHeader(RetentionRun.TABLE, constant(table))
          .setHeader(RetentionRun.RETENTION_SECONDS, method(RetentionRun.class, "retentionSeconds"))
          .setVariable(LAST_DELETED, header(RetentionRun.BATCH_SIZE))
          .loopDoWhile(method(RetentionRun.class, "fullBatch"))
          .to("sql:classpath:sql/retention/" + table.replace('_', '-') + ".sql?parametersCount=2")
          .id("purge-" + table.replace('_', '-'))
          .setVariable(LAST_DELETED, method(RetentionRun.class, "deleted"))
          .end()
          .removeVariable(LAST_DELETED);
    }
    run.bean(RetentionRun.class, "succeeded")
        .doCatch(Exception.class)
        .bean(RetentionRun.class, "failed")
        .end();
  }
}
