package io.quarry.scheduling;

import java.time.Instant;

/**
 * A job's schedule: a Quartz cron read in a time zone, with where it comes from ({@code config} of
 * an instance, or a run-time {@code edit}), who set it and since when.
 */
public record Schedule(String cron, String timeZone, String source, String by, Instant since) {

  /** Same cron and zone, wherever they come from. */
  public boolean sameAs(Schedule other) {
    return other != null && cron.equals(other.cron) && timeZone.equals(other.timeZone);
  }

  /** {@code '0 0 * * * ?' (UTC)}, as the log and the audit trail write it. */
  public String describe() {
    return "'" + cron + "' (" + timeZone + ")";
  }
}
