package io.quarry.maintenance;

import io.quarry.config.JobProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.config.RetentionProperties;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.quartz.JobKey;
import org.quartz.TriggerKey;
import org.springframework.stereotype.Component;

/**
 * The configured maintenance jobs, with the names Quartz, the routes and the API know them by:
 * {@code clean-up-sent-email} is the job {@code CleanUpSentEmailJob} in group {@code maintenance}.
 * Besides those of {@code quarry.jobs}, which each publish an integration event, the retention job
 * {@code purge-history} ({@code quarry.scheduler.retention}) does its work in its own route.
 */
@Component
public class MaintenanceJobs {

  public static final String GROUP = "maintenance";

  /** Key of the retention job. */
  public static final String PURGE_HISTORY = "purge-history";

  /** One configured job. */
  public record Job(String key, String name, JobProperties properties) {
    public JobKey jobKey() {
      return JobKey.jobKey(name, GROUP);
    }

    public TriggerKey triggerKey() {
      return TriggerKey.triggerKey(name, GROUP);
    }

    /** The route id of the job's trigger route, e.g. {@code clean-up-sent-email-job}. */
    public String routeId() {
      return key + "-job";
    }

    /** A job of {@code quarry.jobs}: its run queues an integration event. */
    public boolean publishesEvent() {
      return properties.eventType() != null;
    }
  }

  private final List<Job> jobs;

  public MaintenanceJobs(QuarryProperties properties) {
    List<Job> all = new ArrayList<>();
    properties.jobs().forEach((key, job) -> all.add(new Job(key, jobName(key), job)));
    if (properties.scheduler() != null && properties.scheduler().retention() != null) {
      RetentionProperties retention = properties.scheduler().retention();
      all.add(
          new Job(
              PURGE_HISTORY,
              jobName(PURGE_HISTORY),
              new JobProperties(
                  retention.cron(), retention.priority(), null, retention.timeZone())));
    }
    this.jobs = List.copyOf(all);
  }

  public List<Job> all() {
    return jobs;
  }

  /** The jobs of {@code quarry.jobs}, whose runs queue an integration event. */
  public List<Job> publishing() {
    return jobs.stream().filter(Job::publishesEvent).toList();
  }

  public Optional<Job> byName(String name) {
    return jobs.stream().filter(j -> j.name().equals(name) || j.key().equals(name)).findFirst();
  }

  /** {@code clean-up-sent-email} becomes {@code CleanUpSentEmailJob}. */
  static String jobName(String key) {
    return Arrays.stream(key.split("-"))
            .map(part -> Character.toUpperCase(part.charAt(0)) + part.substring(1))
            .collect(Collectors.joining())
        + "Job";
  }
}
