package io.quarry.scheduling;

import java.util.HashMap;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.NamedNode;
import org.apache.camel.Route;
import org.apache.camel.component.quartz.QuartzConstants;
import org.apache.camel.component.quartz.QuartzEndpoint;
import org.apache.camel.spi.RoutePolicy;
import org.apache.camel.spi.RoutePolicyFactory;
import org.apache.camel.support.RoutePolicySupport;
import org.quartz.JobDetail;
import org.quartz.JobKey;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Gives each clustered trigger route (routes/scheduling/ClusteredJobs) the schedule that applies in
 * the cluster ({@link Schedules#atStartup}) before its consumer stores or compares the trigger:
 * Camel's quartz endpoint replaces a stored trigger whose cron differs from its own, which also
 * resumes a paused one. With the same cron it leaves the trigger, and its pause, alone.
 *
 * <p>Once the route runs, the job's stored endpoint URI (by which a manual run, fired under a
 * trigger of its own, finds its route) is brought to this instance's, in case the configured cron
 * in it changed.
 */
@Component
public class ClusteredSchedulePolicy implements RoutePolicyFactory {

  private static final Logger log = LoggerFactory.getLogger(ClusteredSchedulePolicy.class);

  private final Schedules schedules;
  private final Scheduler scheduler;

  public ClusteredSchedulePolicy(Schedules schedules, Scheduler scheduler) {
    this.schedules = schedules;
    this.scheduler = scheduler;
  }

  @Override
  public RoutePolicy createRoutePolicy(CamelContext camel, String routeId, NamedNode route) {
    return new RoutePolicySupport() {
      @Override
      public void onInit(Route route) {
        quartz(route.getEndpoint()).ifPresent(ClusteredSchedulePolicy.this::applySchedule);
      }

      @Override
      public void onStart(Route route) {
        quartz(route.getEndpoint()).ifPresent(ClusteredSchedulePolicy.this::syncEndpointUri);
      }
    };
  }

  private static java.util.Optional<QuartzEndpoint> quartz(Endpoint endpoint) {
    return endpoint instanceof QuartzEndpoint quartz && quartz.getCron() != null
        ? java.util.Optional.of(quartz)
        : java.util.Optional.empty();
  }

  private static String key(QuartzEndpoint endpoint) {
    return endpoint.getTriggerKey().getGroup() + "/" + endpoint.getTriggerKey().getName();
  }

  private void applySchedule(QuartzEndpoint endpoint) {
    if (schedules.byTrigger(key(endpoint)).isEmpty()) {
      return;
    }
    Schedule schedule = schedules.atStartup(key(endpoint));
    endpoint.setCron(schedule.cron());
    Map<String, Object> parameters =
        endpoint.getTriggerParameters() == null
            ? new HashMap<>()
            : new HashMap<>(endpoint.getTriggerParameters());
    parameters.put("timeZone", schedule.timeZone());
    endpoint.setTriggerParameters(parameters);
  }

  private void syncEndpointUri(QuartzEndpoint endpoint) {
    if (schedules.byTrigger(key(endpoint)).isEmpty()) {
      return;
    }
    JobKey job =
        JobKey.jobKey(endpoint.getTriggerKey().getName(), endpoint.getTriggerKey().getGroup());
    try {
      JobDetail stored = scheduler.getJobDetail(job);
      String uri = endpoint.getEndpointUri();
      if (stored != null
          && !uri.equals(stored.getJobDataMap().getString(QuartzConstants.QUARTZ_ENDPOINT_URI))) {
        stored.getJobDataMap().put(QuartzConstants.QUARTZ_ENDPOINT_URI, uri);
        scheduler.addJob(stored, true, true);
        log.info("{}: stored endpoint URI updated to this instance's configuration", job);
      }
    } catch (SchedulerException e) {
      log.warn("{}: cannot update its stored endpoint URI, a manual run may not find it", job, e);
    }
  }
}
