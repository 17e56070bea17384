package io.quarry.routes.scheduling;

import static org.apache.camel.builder.endpoint.StaticEndpointBuilders.quartz;

import org.apache.camel.builder.EndpointConsumerBuilder;

/**
 * The Quartz endpoint of every scheduled route (stream ticks, maintenance jobs): a durable job in
 * the clustered JDBC job store that survives a restart and fires on one instance per time, found by
 * the CamelContext's fixed name on whichever instance runs it; a missed fire runs once ({@code
 * misfireInstruction=1}: fire once now).
 *
 * <p>Its cron and time zone are not written here but resolved at start-up by the {@code
 * quarry-schedule} properties function (scheduling/ScheduleFunction): the job's configured cron,
 * unless a run-time edit or a newer configuration of another instance applies (see {@code
 * Schedules}). The stored trigger already has that schedule then, so Camel leaves it, and its
 * pause, alone.
 */
public final class ClusteredJobs {

  private ClusteredJobs() {}

  /**
   * @param job {@code group/name} of the Quartz job and trigger, a job {@code Schedules} knows
   * @param priority trigger priority when two triggers are due at once (higher first), or null
   */
  public static EndpointConsumerBuilder trigger(String job, Integer priority) {
    var quartz =
        quartz(job)
            .cron("{{quarry-schedule:cron:" + job + "}}")
            .stateful(true)
            .deleteJob(false)
            .durableJob(true)
            .advanced()
            .usingFixedCamelContextName(true)
            .triggerParameters("misfireInstruction", 1)
            .triggerParameters("timeZone", "{{quarry-schedule:zone:" + job + "}}");
    if (priority != null) {
      quartz.triggerParameters("priority", priority);
    }
    return quartz;
  }

  /**
   * The same trigger; the cron is the job's configured one, which {@code Schedules} reads from the
   * configuration itself.
   *
   * @deprecated use {@link #trigger(String, Integer)}
   */
  @Deprecated
  public static EndpointConsumerBuilder trigger(String job, String cron, Integer priority) {
    return trigger(job, priority);
  }
}
