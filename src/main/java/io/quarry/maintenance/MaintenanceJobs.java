package io.quarry.maintenance;

import io.quarry.config.JobProperties;
import io.quarry.config.QuarryProperties;
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
 */
@Component
public class MaintenanceJobs {

  public static final String GROUP = "maintenance";

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
  }

  private final List<Job> jobs;

  public MaintenanceJobs(QuarryProperties properties) {
    this.jobs =
        properties.jobs().entrySet().stream()
            .map(e -> new Job(e.getKey(), jobName(e.getKey()), e.getValue()))
            .toList();
  }

  public List<Job> all() {
    return jobs;
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
