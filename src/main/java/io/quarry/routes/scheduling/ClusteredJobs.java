package io.quarry.routes.scheduling;

import static org.apache.camel.builder.endpoint.StaticEndpointBuilders.quartz;

import org.apache.camel.builder.EndpointConsumerBuilder;

/**
 * The Quartz endpoint of every scheduled route (stream ticks, maintenance jobs): a durable job in
 * the clustered JDBC job store that survives a restart and fires on one instance per time, found by
 * the CamelContext's fixed name on whichever instance runs it; a missed fire runs once ({@code
 * misfireInstruction=1}: fire once now).
 *
 * <p>The cron written here is the configured one, which keeps the endpoint's URI (stored in the
 * job's data, by which a manual run finds its route) the same whatever schedule applies. The
 * schedule the trigger starts with is set on the endpoint before its route starts, by {@code
 * scheduling/ClusteredSchedulePolicy}: the configured cron unless a run-time edit or a newer
 * configuration of another instance applies (see {@code Schedules}).
 */
public final class ClusteredJobs {

  private ClusteredJobs() {}

  /**
   * @param job {@code group/name} of the Quartz job and trigger
   * @param cron 6-field Quartz cron, or a property placeholder that resolves to one
   * @param priority trigger priority when two triggers are due at once (higher first), or null
   */
  public static EndpointConsumerBuilder trigger(String job, String cron, Integer priority) {
    var quartz =
        quartz(job)
            .cron(cron)
            .stateful(true)
            .deleteJob(false)
            .durableJob(true)
            .advanced()
            .usingFixedCamelContextName(true)
            .triggerParameters("misfireInstruction", 1);
    if (priority != null) {
      quartz.triggerParameters("priority", priority);
    }
    return quartz;
  }
}
