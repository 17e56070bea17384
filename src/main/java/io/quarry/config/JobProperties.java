package io.quarry.config;

import io.quarry.config.validation.QuartzCron;
import io.quarry.config.validation.TimeZoneName;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Pattern;
import org.springframework.boot.context.properties.bind.ConstructorBinding;

/**
 * A maintenance job: a schedule and the integration event each run publishes. A new job is a new
 * entry under {@code quarry.jobs} plus a consumer of its event.
 *
 * @param cron 6-field Quartz cron (seconds first)
 * @param priority Quartz trigger priority and AMQP priority of its event, 0-10 (5 normal, 10 high)
 * @param eventType the integration event type a run publishes (also its routing key)
 * @param timeZone time zone the cron is read in, e.g. {@code Europe/Berlin}; absent means UTC
 */
public record JobProperties(
    @QuartzCron String cron,
    @Min(0) @Max(10) int priority,
    @NotBlank @Pattern(regexp = "[A-Za-z][A-Za-z0-9]*", message = "must be a type name")
        String eventType,
    @TimeZoneName String timeZone) {

  /** The zone a cron is read in when none is configured. */
  public static final String DEFAULT_TIME_ZONE = "UTC";

  @ConstructorBinding
  public JobProperties {
    timeZone = timeZone == null || timeZone.isBlank() ? DEFAULT_TIME_ZONE : timeZone.trim();
  }

  /** A job whose cron is read in UTC. */
  public JobProperties(String cron, int priority, String eventType) {
    this(cron, priority, eventType, DEFAULT_TIME_ZONE);
  }
}
