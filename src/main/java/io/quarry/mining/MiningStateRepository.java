package io.quarry.mining;

import io.quarry.message.MiningMessage;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Runs of the scheduler and the per-(user, stream) chain state. */
@Repository
public class MiningStateRepository {

  /** Why a chain stopped. */
  public enum StopReason {
    END_OF_DATA,
    NO_NEW_DATA,
    MARKER_REPEATED,
    MARKER_CYCLE,
    MAX_PAGES,
    UNAUTHORIZED,
    NO_TOKEN,
    /** No configured token key decrypts the user's stored token; the user must authorise again. */
    TOKEN_UNDECRYPTABLE;

    public String code() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * A chain's state as the miner needs it, with the user's external id and sealed access token
   * (read in the same query).
   *
   * @param accessToken the token as stored (encrypted), null when the user has none
   * @param earlierItems whether an earlier run of this user and stream mined items (recorded when
   *     the run was claimed): only then can a page consist of data stored before
   * @param chainStartedAt when the chain began: the claim of its first run, kept when a later run
   *     resumes it; items stored since are the chain's own and never count as old data
   * @param updatedAt when the chain last showed progress (or was claimed or taken up)
   */
  public record ChainState(
      String status,
      UUID runId,
      long pagesMined,
      List<String> seenMarkers,
      String externalId,
      byte[] accessToken,
      boolean earlierItems,
      Instant chainStartedAt,
      Instant updatedAt) {}

  /**
   * A chain claimed for a run: where its first message starts. {@code marker} is null for a chain
   * that starts afresh; a chain that resumes an interrupted one starts at that chain's saved
   * marker.
   */
  public record Claim(long userId, String marker, boolean resumed) {}

  /** A tick closed because its instance stopped giving signs of life, and its users released. */
  public record AbandonedRun(UUID runId, String instance, int published, int released) {}

  /** The stop reason of a chain whose message failed for good (parked as permanent). */
  public static final String PERMANENT_FAILURE = "permanent_failure";

  private final JdbcClient jdbc;

  public MiningStateRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  /** Opens a tick's run record, owned by this scheduler instance, alive as of now. */
  public void startRun(UUID runId, String stream, String instance) {
    startRun(runId, stream, instance, null);
  }

  /**
   * @param triggeredBy the admin who asked for this tick, null for a scheduled one
   */
  public void startRun(UUID runId, String stream, String instance, String triggeredBy) {
    jdbc.sql(
            """
            insert into scheduler_run (run_id, stream, instance, heartbeat_at, triggered_by)
            values (:run, :stream, :instance, now(), :triggeredBy)
            """)
        .param("run", runId)
        .param("stream", stream)
        .param("instance", instance)
        .param("triggeredBy", triggeredBy)
        .update();
  }

  /**
   * Records that the run's messages up to user {@code through} (claims are published in user order)
   * are confirmed, and that the run is alive. False when the run is no longer running: it was
   * closed as abandoned meanwhile, and its remaining users were released to the next tick.
   */
  public boolean published(UUID runId, int published, long through) {
    return jdbc.sql(
                """
                update scheduler_run set heartbeat_at = now(), users_published = :published,
                       published_through = :through
                 where run_id = :run and outcome = 'running'
                """)
            .param("run", runId)
            .param("published", published)
            .param("through", through)
            .update()
        == 1;
  }

  /** The run is alive (a step that takes long, such as the claim, is over); false if closed. */
  public boolean alive(UUID runId) {
    return jdbc.sql(
                "update scheduler_run set heartbeat_at = now() where run_id = :run and outcome = 'running'")
            .param("run", runId)
            .update()
        == 1;
  }

  /** Closes a run that published every claimed user; a run closed meanwhile keeps its outcome. */
  public void finishRun(UUID runId, int read, int scheduled, int resumed, int skipped) {
    jdbc.sql(
            """
            update scheduler_run set finished_at = now(), outcome = 'succeeded', users_read = :read,
                   users_scheduled = :scheduled, users_published = :scheduled,
                   users_resumed = :resumed, users_skipped = :skipped, heartbeat_at = now()
             where run_id = :run and outcome = 'running'
            """)
        .param("run", runId)
        .param("read", read)
        .param("scheduled", scheduled)
        .param("resumed", resumed)
        .param("skipped", skipped)
        .update();
  }

  /**
   * What a failed tick got done: users read, published (mined), released (claimed, not published),
   * resumed and skipped among those claimed or read.
   */
  public record FailedRun(int read, int published, int released, int resumed, int skipped) {}

  /** Records a failed tick; a run closed meanwhile (abandoned) keeps its account. */
  public void failRun(UUID runId, String error, FailedRun figures) {
    jdbc.sql(
            """
            update scheduler_run set finished_at = now(), outcome = 'failed', error = :error,
                   users_read = :read, users_published = :published, users_scheduled = :published,
                   users_released = :released, users_resumed = :resumed, users_skipped = :skipped,
                   heartbeat_at = now()
             where run_id = :run and outcome = 'running'
            """)
        .param("run", runId)
        .param("error", error)
        .param("read", figures.read())
        .param("published", figures.published())
        .param("released", figures.released())
        .param("resumed", figures.resumed())
        .param("skipped", figures.skipped())
        .update();
  }

  /**
   * Closes the stream's runs that are still "running" but gave no sign of life for {@code after}
   * (their instance died between the claim and the end of the fan-out) and releases their users
   * whose message was never confirmed: those claimed after the run's last confirmed batch and not
   * begun by a miner ({@link #take}: its update moves {@code updated_at} past {@code started_at}).
   * The released chains are failed, so the next claim takes them over (and resumes them); a message
   * of the run that did go out after all is then dropped as stale, or, if it comes first, resumes
   * its chain itself. Each run is closed as failed with what it published.
   */
  public List<AbandonedRun> releaseAbandoned(String stream, Duration after) {
    return releaseRuns(
        "r.stream = :stream and coalesce(r.heartbeat_at, r.started_at) < now() - make_interval(secs => :after)",
        "no sign of life for " + after.toSeconds() + " s",
        Map.of("stream", stream, "after", after.toSeconds()));
  }

  /**
   * The same for the runs an earlier life of this instance left running (it was killed during a
   * tick): at start-up, runs of this instance that began before it started cannot publish any more.
   */
  public List<AbandonedRun> releaseRunsOfEarlierLife(String instance, Instant startedAt) {
    return releaseRuns(
        "r.instance = :instance and r.started_at < :since",
        "its instance restarted",
        Map.of("instance", instance, "since", java.sql.Timestamp.from(startedAt)));
  }

  private List<AbandonedRun> releaseRuns(
      String condition, String why, Map<String, Object> parameters) {
    return jdbc.sql(
            """
            with dead as (
              select r.run_id, r.stream, r.instance, r.users_published, r.published_through
                from scheduler_run r
               where r.outcome = 'running' and %s
               for update skip locked
            ), released as (
              update mining_state s
                 set status = 'failed', updated_at = now(), finished_at = now(),
                     last_error = 'not scheduled: the tick of run ' || dead.run_id
                                  || ' stopped before its message was published (' || :why || ')'
                from dead
               where s.run_id = dead.run_id and s.stream = dead.stream
                 and s.status = 'in_progress' and s.pages_mined = 0
                 and s.updated_at = s.started_at
                 and s.user_id > coalesce(dead.published_through, -1)
              returning s.run_id
            ), closed as (
              update scheduler_run r
                 set outcome = 'failed', finished_at = now(), users_scheduled = dead.users_published,
                     users_released = (select count(*) from released where released.run_id = dead.run_id),
                     error = 'abandoned: ' || :why || '; ' || dead.users_published
                             || ' users published, '
                             || (select count(*) from released where released.run_id = dead.run_id)
                             || ' released to the next tick'
                from dead
               where r.run_id = dead.run_id
              returning r.run_id
            )
            select dead.run_id, dead.instance, dead.users_published,
                   (select count(*) from released where released.run_id = dead.run_id) as released
              from dead join closed on closed.run_id = dead.run_id
            """
                .formatted(condition))
        .params(parameters)
        .param("why", why)
        .query(
            (rs, n) ->
                new AbandonedRun(
                    rs.getObject(1, UUID.class), rs.getString(2), rs.getInt(3), rs.getInt(4)))
        .list();
  }

  /** Active users that may be mined (not waiting for re-authorisation). */
  public List<Long> activeUsers() {
    return jdbc.sql(
            "select id from app_user where active and not needs_reauthorization order by id")
        .query(Long.class)
        .list();
  }

  /**
   * Marks the users' chains of this stream as in progress for the run, except those whose previous
   * chain is still in progress (and not stale); returns the chains claimed, in user order.
   *
   * <p>A chain that the previous run left incomplete resumes where it stood: one that failed (its
   * message dead-lettered as transient, parked after its retries, or never published), one still in
   * progress but stale (its message lost or waiting past {@code staleAfter}), and one that reached
   * {@code max-pages-per-run}. It keeps its saved marker, the markers it saw (cycle detection) and
   * when it began (items it stored are not old data); its counters start again for this run. A
   * chain that ended (end of data, no new data, a broken marker sequence, a refused or
   * undecryptable token) or failed for good (a permanent failure, its message parked) starts afresh
   * at the first page. Either way {@code mined_before} records whether an earlier run mined items,
   * for incremental mining.
   */
  public List<Claim> claim(String stream, UUID runId, List<Long> users, Duration staleAfter) {
    if (users.isEmpty()) {
      return List.of();
    }
    return jdbc
        .sql(
            """
            insert into mining_state (user_id, stream, status, run_id, started_at, run_started_at,
                                      updated_at, seen_markers)
            select u, :stream, 'in_progress', :run, now(), now(), now(), '{}'
              from unnest(:users) as u
            on conflict (user_id, stream) do update
               set status = 'in_progress', run_id = excluded.run_id, started_at = now(),
                   updated_at = now(), finished_at = null, pages_mined = 0, items_mined = 0,
                   stop_reason = null, last_error = null,
                   mined_before = mining_state.mined_before or mining_state.items_mined > 0,
                   resumed_from = case when %1$s then mining_state.run_id end,
                   run_started_at = case when %1$s then mining_state.run_started_at else now() end,
                   current_marker = case when %1$s then mining_state.current_marker end,
                   seen_markers = case when %1$s then mining_state.seen_markers else '{}' end
             where mining_state.status <> 'in_progress'
                or mining_state.updated_at < now() - make_interval(secs => :stale)
            returning user_id, current_marker, resumed_from is not null
            """
                .formatted(RESUMABLE))
        .param("stream", stream)
        .param("run", runId)
        .param("users", users.toArray(Long[]::new))
        .param("stale", staleAfter.toSeconds())
        .query((rs, n) -> new Claim(rs.getLong(1), rs.getString(2), rs.getBoolean(3)))
        .list()
        .stream()
        .sorted(java.util.Comparator.comparingLong(Claim::userId))
        .toList();
  }

  /** Which existing chains a claim resumes (see {@link #claim}). */
  private static final String RESUMABLE =
      """
      (mining_state.status = 'in_progress'
       or (mining_state.status = 'failed' and mining_state.stop_reason is null)
       or (mining_state.status = 'stopped' and mining_state.stop_reason = 'max_pages'))""";

  /**
   * Re-opens a user's chain at the position of a replayed dead letter, under a new run, unless the
   * chain is in progress. The chain counts as begun now (whatever was stored before is old data, so
   * pages mined since the letter failed end it at once), except when the letter is the chain's own
   * (its run failed and nothing took it over): then it keeps its start, like a resumed chain.
   *
   * @return false when the chain is in progress (nothing changed)
   */
  public boolean reopenAt(MiningMessage letter, UUID runId) {
    return jdbc.sql(
                """
                insert into mining_state (user_id, stream, status, run_id, started_at,
                                          run_started_at, updated_at, seen_markers, current_marker,
                                          mined_before, resumed_from)
                values (:user, :stream, 'in_progress', :run, now(), now(), now(), '{}', :marker,
                        true, :letterRun)
                on conflict (user_id, stream) do update
                   set status = 'in_progress', run_id = excluded.run_id, started_at = now(),
                       updated_at = now(), finished_at = null, pages_mined = 0, items_mined = 0,
                       stop_reason = null, last_error = null, mined_before = true,
                       current_marker = excluded.current_marker, resumed_from = :letterRun,
                       seen_markers = case when mining_state.run_id = :letterRun
                                           then mining_state.seen_markers else '{}' end,
                       run_started_at = case when mining_state.run_id = :letterRun
                                             then mining_state.run_started_at else now() end
                 where mining_state.status <> 'in_progress'
                """)
            .param("user", letter.userId())
            .param("stream", letter.stream())
            .param("run", runId)
            .param("marker", letter.currentMarker())
            .param("letterRun", letter.runId())
            .update()
        == 1;
  }

  public java.util.Optional<ChainState> chainState(long userId, String stream) {
    return jdbc.sql(
            """
            select s.status, s.run_id, s.pages_mined, s.seen_markers, u.external_id,
                   u.access_token, s.mined_before, s.run_started_at, s.updated_at
              from mining_state s join app_user u on u.id = s.user_id
             where s.user_id = :user and s.stream = :stream
            """)
        .param("user", userId)
        .param("stream", stream)
        .query(
            (rs, n) ->
                new ChainState(
                    rs.getString(1),
                    rs.getObject(2, UUID.class),
                    rs.getLong(3),
                    List.of((String[]) rs.getArray(4).getArray()),
                    rs.getString(5),
                    rs.getBytes(6),
                    rs.getBoolean(7),
                    runStartedAt(rs.getTimestamp(8)),
                    runStartedAt(rs.getTimestamp(9))))
        .optional();
  }

  private static Instant runStartedAt(java.sql.Timestamp timestamp) {
    return timestamp == null ? Instant.EPOCH : timestamp.toInstant();
  }

  /** Records progress after a message: still in progress, at the next marker. */
  public void progress(MiningMessage next, List<String> newMarkers) {
    jdbc.sql(
            """
            update mining_state
               set current_marker = :marker, pages_mined = :pages, items_mined = :items,
                   seen_markers = seen_markers || :markers, updated_at = now()
             where user_id = :user and stream = :stream and run_id = :run
               and pages_mined <= :pages
            """)
        .param("marker", next.currentMarker())
        .param("pages", next.pagesMined())
        .param("items", next.itemsMined())
        .param("markers", newMarkers.toArray(String[]::new))
        .param("user", next.userId())
        .param("stream", next.stream())
        .param("run", next.runId())
        .update();
  }

  /** Ends the chain: completed or stopped with its reason. */
  public void finish(MiningMessage last, StopReason reason, String detail) {
    String status =
        switch (reason) {
          case END_OF_DATA, NO_NEW_DATA -> "completed";
          default -> "stopped";
        };
    jdbc.sql(
            """
            update mining_state
               set status = :status, stop_reason = :reason, last_error = :detail,
                   current_marker = :marker, pages_mined = :pages, items_mined = :items,
                   updated_at = now(), finished_at = now()
             where user_id = :user and stream = :stream and run_id = :run
            """)
        .param("status", status)
        .param("reason", reason.code())
        .param("detail", detail)
        .param("marker", last.currentMarker())
        .param("pages", last.pagesMined())
        .param("items", last.itemsMined())
        .param("user", last.userId())
        .param("stream", last.stream())
        .param("run", last.runId())
        .update();
  }

  /**
   * Ends the chain as failed (its message was dead-lettered). A transient failure leaves it to be
   * resumed (by the message's retry, or by the next tick); a permanent one ({@code
   * permanent_failure}) is not resumed by a tick, which would only fail at the same page again: the
   * next run starts afresh and the parked letter can be replayed.
   */
  public void fail(long userId, String stream, UUID runId, String error, boolean permanent) {
    jdbc.sql(
            """
            update mining_state set status = 'failed', last_error = :error, updated_at = now(),
                   finished_at = now(), stop_reason = :reason
             where user_id = :user and stream = :stream and run_id = :run
            """)
        .param("error", error)
        .param("reason", permanent ? PERMANENT_FAILURE : null)
        .param("user", userId)
        .param("stream", stream)
        .param("run", runId)
        .update();
  }

  /** Chains claimed for a run whose first message could not be published. */
  public void releaseUnsent(String stream, UUID runId, List<Long> users, String error) {
    if (users.isEmpty()) {
      return;
    }
    jdbc.sql(
            """
            update mining_state set status = 'failed', last_error = :error, updated_at = now(),
                   finished_at = now()
             where stream = :stream and run_id = :run and user_id = any(:users)
            """)
        .param("error", "not scheduled: " + error)
        .param("stream", stream)
        .param("run", runId)
        .param("users", users.toArray(Long[]::new))
        .update();
  }

  /**
   * A message takes its chain up: the chain is (again) in progress and marked as begun, if it still
   * belongs to the message's run. False when another run took the chain over meanwhile (the message
   * is then stale). Checked and written in one statement, so a claim that takes the chain over, or
   * a dead tick's release, and this message never both win: a chain marked begun is neither
   * released ({@link #releaseAbandoned} releases only chains never begun) nor stale.
   */
  public boolean take(long userId, String stream, UUID runId) {
    return jdbc.sql(
                """
                update mining_state set status = 'in_progress', finished_at = null,
                       updated_at = clock_timestamp(), stop_reason = null
                 where user_id = :user and stream = :stream and run_id = :run
                   and status in ('in_progress', 'failed')
                """)
            .param("user", userId)
            .param("stream", stream)
            .param("run", runId)
            .update()
        == 1;
  }

  /**
   * Flags the user as needing re-authorisation: later ticks skip it until its token is replaced.
   *
   * @return true when this call flagged it, false when it was flagged already (by another stream's
   *     chain, say), so the caller reports it once
   */
  public boolean flagReauthorization(long userId) {
    return jdbc.sql(
                """
                update app_user set needs_reauthorization = true, updated_at = now()
                 where id = :id and not needs_reauthorization
                """)
            .param("id", userId)
            .update()
        == 1;
  }
}
