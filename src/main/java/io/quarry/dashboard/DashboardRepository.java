package io.quarry.dashboard;

import io.quarry.maintenance.JobExecutionRepository;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * The dashboard's read queries. History is paged by a keyset cursor (start time, id) over the
 * {@code started_at} indexes of {@code job_execution} and {@code scheduler_run}, so a page costs
 * the same with a hundred or a hundred thousand rows behind it.
 */
@Repository
public class DashboardRepository {

  /**
   * One line of the history: a maintenance job execution or a stream scheduler tick. {@code source}
   * is {@code schedule} or {@code manual} (then {@code triggeredBy} names the admin), {@code
   * instance} the Quarry instance that ran it, {@code effect} what the run did ("8 mails
   * re-queued", "20 users queued, 2 skipped"), {@code retryOf} the execution it retried.
   */
  public record HistoryEntry(
      String kind,
      String name,
      String id,
      Instant startedAt,
      Instant finishedAt,
      String outcome,
      String error,
      String source,
      String triggeredBy,
      Integer usersScheduled,
      Integer usersSkipped,
      String instance,
      String effect,
      Long retryOf) {}

  /** A run under way now, on which instance, since when. */
  public record RunningRun(
      String kind,
      String name,
      String id,
      Instant startedAt,
      String instance,
      String source,
      String triggeredBy,
      Instant heartbeatAt,
      Integer usersPublished) {}

  /** Which history lines to show; null fields do not filter. */
  public record HistoryFilter(
      String kind, String name, String outcome, Instant from, Instant to, Cursor before) {}

  /** Position after the last line of a page: its start time and id. */
  public record Cursor(Instant startedAt, String id) {

    /** {@code <epoch micros>~<id>}, as {@link #toString()} writes it. */
    public static Cursor parse(String text) {
      int at = text.indexOf('~');
      if (at < 1) {
        throw new IllegalArgumentException("cursor must be <micros>~<id>");
      }
      long micros = Long.parseLong(text.substring(0, at));
      return new Cursor(
          Instant.ofEpochSecond(
              Math.floorDiv(micros, 1_000_000), Math.floorMod(micros, 1_000_000) * 1_000L),
          text.substring(at + 1));
    }

    @Override
    public String toString() {
      return (startedAt.getEpochSecond() * 1_000_000 + startedAt.getNano() / 1_000) + "~" + id;
    }
  }

  /** A page of history and the cursor of the next (older) page, null on the last page. */
  public record HistoryPage(List<HistoryEntry> entries, String next) {}

  /** One failed run in full. */
  public record Failure(String kind, String name, String id, String error, String stackTrace) {}

  /** Where a stream's latest run stands: its tick and its chains by status. */
  public record StreamRun(
      String stream,
      String runId,
      Instant startedAt,
      Instant finishedAt,
      String outcome,
      int usersRead,
      int usersScheduled,
      int usersSkipped,
      Map<String, Long> chains) {}

  /** A user's chain on one stream, for the top-N and the attention lists. */
  public record UserChain(
      long userId,
      String externalId,
      String stream,
      String status,
      long pagesMined,
      long itemsMined,
      String stopReason,
      String lastError,
      boolean needsReauthorization,
      Instant updatedAt) {}

  private final JdbcClient jdbc;

  public DashboardRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  private record Query(String sql, Map<String, Object> params) {}

  private static Query historyQuery(HistoryFilter filter, int limit) {
    boolean jobs = filter.kind() == null || filter.kind().equals("job");
    boolean ticks = filter.kind() == null || filter.kind().equals("stream");
    Map<String, Object> params = new LinkedHashMap<>();
    params.put("limit", limit + 1);
    List<String> branches = new ArrayList<>();
    if (jobs) {
      branches.add(
          branch(
              """
              select 'job' as kind, job_name as name, id::text as id, started_at, finished_at,
                     outcome, left(error_message, 500) as error, trigger_source as source,
                     triggered_by, null::integer as users_scheduled, null::integer as users_skipped,
                     instance_id as instance, effect, retry_of
                from job_execution""",
              "job_name = :jobName",
              "jobName",
              filter.name(),
              "id::text",
              filter,
              params));
    }
    if (ticks) {
      branches.add(
          branch(
              """
              select 'stream' as kind, stream || '-scheduler' as name, run_id::text as id,
                     started_at, finished_at, outcome, left(error, 500) as error,
                     case when triggered_by is null then 'schedule' else 'manual' end as source,
                     triggered_by, users_scheduled, users_skipped,
                     instance, null as effect, null::bigint as retry_of
                from scheduler_run""",
              "stream = :streamName",
              "streamName",
              filter.name() == null ? null : filter.name().replaceFirst("-scheduler$", ""),
              "run_id::text",
              filter,
              params));
    }
    String sql =
        "select * from ("
            + String.join(" union all ", branches)
            + ") history order by started_at desc, id desc limit :limit";
    return new Query(sql, params);
  }

  public HistoryPage history(HistoryFilter filter, int limit) {
    Query query = historyQuery(filter, limit);
    List<HistoryEntry> rows =
        jdbc.sql(query.sql())
            .params(query.params())
            .query(DashboardRepository::historyEntry)
            .list();
    String next = null;
    if (rows.size() > limit) {
      rows = rows.subList(0, limit);
      HistoryEntry last = rows.get(limit - 1);
      next = new Cursor(last.startedAt(), last.id()).toString();
    }
    return new HistoryPage(List.copyOf(rows), next);
  }

  /** Job executions waiting for their event's effect and stream ticks under way, oldest first. */
  public List<RunningRun> running(int limit) {
    return jdbc.sql(
            """
            select * from (
              (select 'job' as kind, job_name as name, id::text as id, started_at,
                      instance_id as instance, trigger_source as source, triggered_by,
                      null::timestamptz as heartbeat_at, null::integer as users_published
                 from job_execution where outcome = 'running'
                order by started_at limit :limit)
              union all
              (select 'stream', stream || '-scheduler', run_id::text, started_at, instance,
                      case when triggered_by is null then 'schedule' else 'manual' end,
                      triggered_by, heartbeat_at, users_published
                 from scheduler_run where outcome = 'running'
                order by started_at limit :limit)
            ) running order by started_at, id limit :limit
            """)
        .param("limit", limit)
        .query(
            (rs, n) ->
                new RunningRun(
                    rs.getString("kind"),
                    rs.getString("name"),
                    rs.getString("id"),
                    instant(rs, "started_at"),
                    rs.getString("instance"),
                    rs.getString("source"),
                    rs.getString("triggered_by"),
                    instant(rs, "heartbeat_at"),
                    (Integer) rs.getObject("users_published")))
        .list();
  }

  /** PostgreSQL's plan for a history page (the tests check it walks the indexes). */
  String explainHistory(HistoryFilter filter, int limit) {
    Query query = historyQuery(filter, limit);
    return String.join(
        "\n", jdbc.sql("explain " + query.sql()).params(query.params()).query(String.class).list());
  }

  /**
   * One branch of the history union, filtered and cut to the page size on its own, so that each
   * branch walks its {@code started_at} index instead of the union sorting every row.
   */
  private static String branch(
      String select,
      String nameCondition,
      String nameParameter,
      String name,
      String idColumn,
      HistoryFilter filter,
      Map<String, Object> params) {
    List<String> where = new ArrayList<>();
    if (name != null) {
      where.add(nameCondition);
      params.put(nameParameter, name);
    }
    if (filter.outcome() != null) {
      where.add("outcome = :outcome");
      params.put("outcome", filter.outcome());
    }
    if (filter.from() != null) {
      where.add("started_at >= :from");
      params.put("from", Timestamp.from(filter.from()));
    }
    if (filter.to() != null) {
      where.add("started_at < :to");
      params.put("to", Timestamp.from(filter.to()));
    }
    if (filter.before() != null) {
      where.add(
          "started_at <= :beforeAt and (started_at < :beforeAt or " + idColumn + " < :beforeId)");
      params.put("beforeAt", Timestamp.from(filter.before().startedAt()));
      params.put("beforeId", filter.before().id());
    }
    return "("
        + select
        + (where.isEmpty() ? "" : " where " + String.join(" and ", where))
        + " order by started_at desc, "
        + idColumn
        + " desc limit :limit)";
  }

  private static HistoryEntry historyEntry(ResultSet rs, int row) throws SQLException {
    String kind = rs.getString("kind");
    String outcome = rs.getString("outcome");
    Integer scheduled = (Integer) rs.getObject("users_scheduled");
    Integer skipped = (Integer) rs.getObject("users_skipped");
    String effect = rs.getString("effect");
    if (kind.equals("stream") && outcome.equals("succeeded")) {
      effect =
          JobExecutionRepository.effect(scheduled, "user(s) queued")
              + (skipped > 0 ? ", " + String.format(Locale.ROOT, "%,d", skipped) + " skipped" : "");
    }
    return new HistoryEntry(
        kind,
        rs.getString("name"),
        rs.getString("id"),
        instant(rs, "started_at"),
        instant(rs, "finished_at"),
        outcome,
        rs.getString("error"),
        rs.getString("source"),
        rs.getString("triggered_by"),
        scheduled,
        skipped,
        rs.getString("instance"),
        effect,
        (Long) rs.getObject("retry_of"));
  }

  /** The error and stack trace of one execution ({@code job}) or tick ({@code stream}). */
  public Optional<Failure> failure(String kind, String id) {
    if (kind.equals("job")) {
      long executionId;
      try {
        executionId = Long.parseLong(id);
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
      return jdbc.sql(
              "select job_name, error_message, stack_trace from job_execution where id = :id")
          .param("id", executionId)
          .query(
              (rs, n) -> new Failure(kind, rs.getString(1), id, rs.getString(2), rs.getString(3)))
          .optional();
    }
    UUID runId;
    try {
      runId = UUID.fromString(id);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    return jdbc.sql("select stream || '-scheduler', error from scheduler_run where run_id = :id")
        .param("id", runId)
        .query((rs, n) -> new Failure(kind, rs.getString(1), id, rs.getString(2), null))
        .optional();
  }

  /** The latest run of the stream with its chains counted by status, if it ever ran. */
  public Optional<StreamRun> latestRun(String stream) {
    return jdbc.sql(
            """
            select run_id, started_at, finished_at, outcome, users_read, users_scheduled,
                   users_skipped
              from scheduler_run where stream = :stream order by started_at desc limit 1
            """)
        .param("stream", stream)
        .query(
            (rs, n) -> {
              UUID runId = rs.getObject("run_id", UUID.class);
              return new StreamRun(
                  stream,
                  runId.toString(),
                  instant(rs, "started_at"),
                  instant(rs, "finished_at"),
                  rs.getString("outcome"),
                  rs.getInt("users_read"),
                  rs.getInt("users_scheduled"),
                  rs.getInt("users_skipped"),
                  Map.of());
            })
        .optional()
        .map(
            run -> {
              Map<String, Long> chains = new LinkedHashMap<>();
              jdbc.sql(
                      "select status, count(*) from mining_state where stream = :stream"
                          + " and run_id = :run group by status order by status")
                  .param("stream", stream)
                  .param("run", UUID.fromString(run.runId()))
                  .query((rs, n) -> chains.put(rs.getString(1), rs.getLong(2)))
                  .list();
              return new StreamRun(
                  run.stream(),
                  run.runId(),
                  run.startedAt(),
                  run.finishedAt(),
                  run.outcome(),
                  run.usersRead(),
                  run.usersScheduled(),
                  run.usersSkipped(),
                  Map.copyOf(chains));
            });
  }

  /** The users whose chains mined the most pages in their latest run, any stream. */
  public List<UserChain> topUsers(int limit) {
    return jdbc.sql(USER_CHAIN + " order by m.pages_mined desc, m.items_mined desc limit :limit")
        .param("limit", limit)
        .query(DashboardRepository::userChain)
        .list();
  }

  /** Users needing re-authorisation or whose chain failed or recorded an error, newest first. */
  public List<UserChain> usersNeedingAttention(int limit) {
    return jdbc.sql(
            USER_CHAIN
                + " where u.needs_reauthorization or m.status = 'failed' or m.last_error is not null"
                + " order by m.updated_at desc limit :limit")
        .param("limit", limit)
        .query(DashboardRepository::userChain)
        .list();
  }

  private static final String USER_CHAIN =
      """
      select u.id, u.external_id, m.stream, m.status, m.pages_mined, m.items_mined,
             m.stop_reason, m.last_error, u.needs_reauthorization, m.updated_at
        from mining_state m join app_user u on u.id = m.user_id
      """;

  private static UserChain userChain(ResultSet rs, int row) throws SQLException {
    return new UserChain(
        rs.getLong(1),
        rs.getString(2),
        rs.getString(3),
        rs.getString(4),
        rs.getLong(5),
        rs.getLong(6),
        rs.getString(7),
        rs.getString(8),
        rs.getBoolean(9),
        instant(rs, "updated_at"));
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    Timestamp timestamp = rs.getTimestamp(column);
    return timestamp == null ? null : timestamp.toInstant();
  }
}
