package io.quarry.routes.maintenance;

import io.quarry.maintenance.MaintenanceJobRunner;
import io.quarry.maintenance.MaintenanceJobs;
import io.quarry.routes.scheduling.ClusteredJobs;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * One clustered Quartz trigger route per configured maintenance job ({@code quarry.jobs}), each
 * handing over to the shared worker that records the run and queues its integration event. Missed
 * ticks fire once ({@code misfireInstruction=1}, fire once now), never as a burst; a job never runs
 * twice at once ({@code stateful}); stopping one instance leaves the cluster's trigger alone
 * ({@code deleteJob=false}); any instance can run the job, whichever stored it ({@code
 * usingFixedCamelContextName}, see {@code QuartzConfig}).
 */
@Component
public class MaintenanceJobRoutes extends RouteBuilder {

  public static final String WORKER = "direct:maintenance-job";
  public static final String JOB_HEADER = "quarryJob";

  private final MaintenanceJobs jobs;

  public MaintenanceJobRoutes(MaintenanceJobs jobs) {
    this.jobs = jobs;
  }

  @Override
  public void configure() {
    for (MaintenanceJobs.Job job : jobs.publishing()) {
      from(ClusteredJobs.trigger(
              MaintenanceJobs.GROUP + "/" + job.name(),
              job.properties().cron(),
              job.properties().priority()))
          .routeId(job.routeId())
          .setHeader(JOB_HEADER, constant(job.name()))
          .to(WORKER);
    }

    from(WORKER).routeId("maintenance-job").bean(MaintenanceJobRunner.class, "run");
  }
}
