package io.quarry.scheduling;

import org.apache.camel.spi.PropertiesFunction;

/**
 * {@code {{quarry-schedule:cron:<group>/<name>}}} and {@code {{quarry-schedule:zone:<group>/<name>}}}
 * in a clustered trigger's URI: the cron and time zone the job's trigger starts with on this
 * instance ({@link Schedules#atStartup}), so Camel's quartz endpoint never replaces the stored
 * trigger with a different schedule (which would also resume a paused one).
 */
public class ScheduleFunction implements PropertiesFunction {

  public static final String NAME = "quarry-schedule";

  private final Schedules schedules;

  public ScheduleFunction(Schedules schedules) {
    this.schedules = schedules;
  }

  @Override
  public String getName() {
    return NAME;
  }

  @Override
  public String apply(String remainder) {
    int colon = remainder.indexOf(':');
    String what = remainder.substring(0, colon);
    Schedule schedule = schedules.atStartup(remainder.substring(colon + 1));
    return switch (what) {
      case "cron" -> schedule.cron();
      case "zone" -> schedule.timeZone();
      default -> throw new IllegalArgumentException("quarry-schedule has no " + what);
    };
  }
}
