package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarry.flow.FlowEndpoints;
import io.quarry.platform.sim.ApiStyle;
import io.quarry.platform.sim.ReceivedRequest;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.user.UserRepository;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

/**
 * A stream per pagination style, configured without code, mined end to end through the real broker
 * and database from a simulated API that speaks that style: every item stored once, each chain
 * ended for the right reason, continuations (two pages per message) and the resume of an
 * interrupted chain carrying the style's position, and cycle detection and the repeated-marker
 * guard working on next-page URLs.
 */
@QuarryIntegrationTest
@TestPropertySource(
    properties = {
      "quarry.mining.dead-letter-retries=0",
      // every stream: ticks only when the test drives it, 10 items a page, 2 pages a message
      "quarry.streams.cursor-custom.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.cursor-custom.page-size=10",
      "quarry.streams.cursor-custom.pages-per-message=2",
      "quarry.streams.cursor-custom.subscribers=raw-storage",
      "quarry.streams.next-url.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.next-url.page-size=10",
      "quarry.streams.next-url.pages-per-message=2",
      "quarry.streams.next-url.subscribers=raw-storage",
      "quarry.streams.link-header.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.link-header.page-size=10",
      "quarry.streams.link-header.pages-per-message=2",
      "quarry.streams.link-header.subscribers=raw-storage",
      "quarry.streams.last-item.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.last-item.page-size=10",
      "quarry.streams.last-item.pages-per-message=2",
      "quarry.streams.last-item.subscribers=raw-storage",
      "quarry.streams.offset.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.offset.page-size=10",
      "quarry.streams.offset.pages-per-message=2",
      "quarry.streams.offset.subscribers=raw-storage",
      "quarry.streams.page-number.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.page-number.page-size=10",
      "quarry.streams.page-number.pages-per-message=2",
      "quarry.streams.page-number.subscribers=raw-storage",
      "quarry.streams.bare-array.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.bare-array.page-size=10",
      "quarry.streams.bare-array.pages-per-message=2",
      "quarry.streams.bare-array.subscribers=raw-storage",
      // a cursor under other names, no has-more flag: {"data":[],"meta":{"next_token":"t10"}}
      "quarry.streams.cursor-custom.api-path=/users/{userId}/cursor-custom",
      "quarry.streams.cursor-custom.pagination.page-size-parameter=page_size",
      "quarry.streams.cursor-custom.pagination.cursor-parameter=pagination_token",
      "quarry.streams.cursor-custom.pagination.cursor-path=/meta/next_token",
      "quarry.streams.cursor-custom.items.path=/data",
      // the next page's URL in the body, the token as a query parameter the URL echoes
      "quarry.streams.next-url.api-path=/users/{userId}/next-url",
      "quarry.streams.next-url.pagination.style=next-url",
      "quarry.streams.next-url.pagination.next-url-path=/paging/next",
      "quarry.streams.next-url.items.path=/data",
      "quarry.streams.next-url.auth.placement=query",
      "quarry.streams.next-url.auth.parameter=access_token",
      // the Link header, a bare array, Authorization: token ...
      "quarry.streams.link-header.api-path=/users/{userId}/link-header",
      "quarry.streams.link-header.pagination.style=link-header",
      "quarry.streams.link-header.pagination.page-size-parameter=per_page",
      "quarry.streams.link-header.items.path=",
      "quarry.streams.link-header.auth.prefix=token",
      // the last item's nested id as starting_after, has_more from the body; the stored id is
      // the nested one too (items.id-path)
      "quarry.streams.last-item.api-path=/users/{userId}/last-item",
      "quarry.streams.last-item.pagination.style=last-item",
      "quarry.streams.last-item.pagination.cursor-parameter=starting_after",
      "quarry.streams.last-item.pagination.cursor-field=/ref/key",
      "quarry.streams.last-item.items.id-path=/ref/key",
      "quarry.streams.last-item.pagination.has-more-path=/has_more",
      "quarry.streams.last-item.items.path=/data",
      // an offset ending on the total, the token in X-Api-Key
      "quarry.streams.offset.api-path=/users/{userId}/offset",
      "quarry.streams.offset.pagination.style=offset",
      "quarry.streams.offset.pagination.total-path=/total_count",
      "quarry.streams.offset.items.path=/records",
      "quarry.streams.offset.auth.header=X-Api-Key",
      // a page number from 1 ending on the total (or a short or empty page)
      "quarry.streams.page-number.api-path=/users/{userId}/page-number",
      "quarry.streams.page-number.pagination.style=page-number",
      "quarry.streams.page-number.pagination.page-size-parameter=per_page",
      "quarry.streams.page-number.pagination.total-path=/total",
      "quarry.streams.page-number.items.path=/results",
      // a bare array, pages from 0, ending on a short or empty page
      "quarry.streams.bare-array.api-path=/users/{userId}/bare-array",
      "quarry.streams.bare-array.pagination.style=page-number",
      "quarry.streams.bare-array.pagination.page-size-parameter=per_page",
      "quarry.streams.bare-array.pagination.first-page=0",
      "quarry.streams.bare-array.items.path=",
    })
class PaginationStylesIT extends SimulatedPlatformTest {

  static final int PAGE_SIZE = 10;

  /** Stream, its simulated dialect, and the pages it takes for 25 and for 30 items. */
  static final List<Object[]> STYLES =
      List.of(
          new Object[] {"cursor-custom", ApiStyle.CURSOR_CUSTOM, 3, 3},
          new Object[] {"next-url", ApiStyle.NEXT_URL, 3, 3},
          new Object[] {"link-header", ApiStyle.LINK_HEADER, 3, 3},
          new Object[] {"last-item", ApiStyle.LAST_ITEM, 3, 3},
          // 30 = three full pages: the total ends it without an empty fourth page
          new Object[] {"offset", ApiStyle.OFFSET, 3, 3},
          new Object[] {"page-number", ApiStyle.PAGE_NUMBER, 3, 3},
          // without a total, three full pages need an empty fourth to end
          new Object[] {"bare-array", ApiStyle.BARE_ARRAY, 3, 4});

  /**
   * Each stream's position of page 5 (items 40-49 of 55), where a chain whose first four pages were
   * mined resumes; the URLs are relative to the simulator's base URL.
   */
  static final Map<String, String> PAGE_5 =
      Map.of(
          "cursor-custom", "t40",
          "next-url", "/users/outage/next-url?limit=10&cursor=40",
          "link-header", "/users/outage/link-header?per_page=10&page=5",
          "last-item", "key-last-item-outage-1-39",
          "offset", "40",
          "page-number", "5",
          "bare-array", "4");

  @Autowired UserRepository users;
  @Autowired ProducerTemplate camel;

  @BeforeEach
  void speakEachStreamsStyle() {
    for (Object[] style : STYLES) {
      PLATFORM.streamStyle((String) style[0], (ApiStyle) style[1]);
    }
  }

  @Test
  void everyStyleMinesEveryItemOnceAndEndsWithEndOfData() {
    long short25 = users.upsert("short", "token-short");
    long even30 = users.upsert("even", "token-even");
    PLATFORM.expectedToken("short", "token-short").user("short").totalItems(25);
    PLATFORM.expectedToken("even", "token-even").user("even").totalItems(30);

    for (Object[] style : STYLES) {
      camel.sendBody(FlowEndpoints.schedulerWorker((String) style[0]), null);
    }

    for (Object[] style : STYLES) {
      String stream = (String) style[0];
      awaitEnded(stream, short25);
      awaitEnded(stream, even30);
      assertThat(state(stream, short25))
          .as(stream)
          .containsEntry("status", "completed")
          .containsEntry("stop_reason", "end_of_data")
          .containsEntry("pages_mined", ((Integer) style[2]).longValue())
          .containsEntry("items_mined", 25L);
      assertThat(state(stream, even30))
          .as(stream)
          .containsEntry("status", "completed")
          .containsEntry("stop_reason", "end_of_data")
          .containsEntry("pages_mined", ((Integer) style[3]).longValue())
          .containsEntry("items_mined", 30L);
      awaitItemsOnce(stream, short25, "short", 25);
      awaitItemsOnce(stream, even30, "even", 30);
    }
    assertThat(count("select count(*) from dead_letter")).isZero();
  }

  @Test
  void anInterruptedChainOfEveryStyleResumesAtItsPosition() {
    long user = users.upsert("outage", "token-outage");
    PLATFORM.user("outage").totalItems(55).serverErrorsFromPage(5);

    // two messages of two pages each are mined; page 5, the next message's first, fails
    Map<String, UUID> firstRuns = new java.util.TreeMap<>();
    PAGE_5.keySet().forEach(stream -> firstRuns.put(stream, tick(stream)));
    for (String stream : firstRuns.keySet()) {
      awaitStatus(stream, user, "failed");
      String position = PAGE_5.get(stream);
      assertThat((String) state(stream, user).get("current_marker"))
          .as(stream)
          .isEqualTo(position.startsWith("/") ? PLATFORM.baseUrl() + position : position)
          .doesNotContain("token-outage");
      awaitItemsOnce(stream, user, "outage", 40);
    }

    int beforeRecovery = PLATFORM.user("outage").recentRequests().size();
    PLATFORM.user("outage").recovered();
    Map<String, UUID> secondRuns = new java.util.TreeMap<>();
    PAGE_5.keySet().forEach(stream -> secondRuns.put(stream, tick(stream)));

    for (String stream : secondRuns.keySet()) {
      awaitEnded(stream, user);
      assertThat(state(stream, user))
          .as(stream)
          .containsEntry("status", "completed")
          .containsEntry("stop_reason", "end_of_data")
          .containsEntry("resumed_from", firstRuns.get(stream))
          .containsEntry("run_id", secondRuns.get(stream));
      awaitItemsOnce(stream, user, "outage", 55);
      List<ReceivedRequest> resumed = PLATFORM.user("outage").recentRequests();
      assertThat(resumed.subList(beforeRecovery, resumed.size()))
          .filteredOn(request -> stream.equals(request.stream()))
          .as(stream + ": pages 5 and 6 asked for, not the first four again")
          .hasSize(2);
    }
  }

  @Test
  void aNextUrlThatPointsBackIsACycleAndOneThatRepeatsIsStoppedToo() {
    long cycling = users.upsert("cycling", "token");
    long repeating = users.upsert("repeating", "token");
    PLATFORM.user("cycling").totalItems(100).cycleAtPage(3);
    PLATFORM.user("repeating").totalItems(100).repeatMarkerFromPage(2);

    tick("next-url");
    tick("link-header");

    awaitEnded("next-url", cycling);
    awaitEnded("link-header", repeating);
    assertThat(state("next-url", cycling))
        .containsEntry("status", "stopped")
        .containsEntry("stop_reason", "marker_cycle");
    assertThat(state("link-header", repeating))
        .containsEntry("status", "stopped")
        .containsEntry("stop_reason", "marker_repeated");
    awaitEnded("next-url", repeating);
    awaitEnded("link-header", cycling);
  }

  @Test
  void anApiThatIgnoresTheOffsetOrTheLastItemIsStopped() {
    long user = users.upsert("stuck", "token");
    // every request answers page 1 again, whatever its offset or starting_after; within the first
    // message (two pages), so the check does not wait for the first message's seen markers to be
    // stored (CountedPositionGuardTest covers pages of earlier messages)
    PLATFORM.user("stuck").totalItems(100).repeatMarkerFromPage(1);

    tick("offset");
    tick("last-item");

    awaitEnded("offset", user);
    awaitEnded("last-item", user);
    // offsets grow, so the offset stream compares pages: page 2 ends like page 1
    assertThat(state("offset", user))
        .containsEntry("status", "stopped")
        .containsEntry("stop_reason", "marker_cycle")
        .containsEntry("pages_mined", 2L);
    // the last item's id comes back as the cursor: repeated until the limit (5)
    assertThat(state("last-item", user))
        .containsEntry("status", "stopped")
        .containsEntry("stop_reason", "marker_repeated");
    awaitItemsOnce("offset", user, "stuck", 10);
  }

  @Test
  void aSecondRunOfAStreamWithNestedIdsStopsAtTheOldData() {
    long user = users.upsert("again", "token");
    PLATFORM.user("again").totalItems(30);
    tick("last-item");
    awaitEnded("last-item", user);
    awaitItemsOnce("last-item", user, "again", 30);

    tick("last-item");

    // the check for old data compares the ids raw_item keeps: the stream's nested ones
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> "no_new_data".equals(state("last-item", user).get("stop_reason")));
    // its first page was all old: the chain stops before counting it
    assertThat(state("last-item", user))
        .containsEntry("status", "completed")
        .containsEntry("pages_mined", 0L)
        .containsEntry("items_mined", 0L);
  }

  private UUID tick(String stream) {
    camel.sendBody(FlowEndpoints.schedulerWorker(stream), null);
    return (UUID)
        jdbc.sql(
                "select run_id from scheduler_run where stream = :s order by started_at desc limit 1")
            .param("s", stream)
            .query()
            .singleValue();
  }

  private Map<String, Object> state(String stream, long user) {
    List<Map<String, Object>> rows =
        jdbc.sql("select * from mining_state where stream = :s and user_id = :u")
            .param("s", stream)
            .param("u", user)
            .query()
            .listOfRows();
    return rows.isEmpty() ? Map.of() : rows.get(0);
  }

  private void awaitEnded(String stream, long user) {
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              Object status = state(stream, user).get("status");
              return "completed".equals(status) || "stopped".equals(status);
            });
  }

  private void awaitStatus(String stream, long user, String status) {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> status.equals(state(stream, user).get("status")));
  }

  /** The user's items 0..n-1 of the stream stored, each exactly once. */
  private void awaitItemsOnce(String stream, long user, String externalId, int items) {
    String where = " from raw_item where stream = '" + stream + "' and user_id = " + user;
    await().atMost(Duration.ofSeconds(30)).until(() -> count("select count(*)" + where) == items);
    assertThat(count("select count(distinct item_id)" + where)).isEqualTo(items);
    assertThat(
            count(
                "select count(*)"
                    + where
                    + " and item_id in (select '"
                    // raw_item keeps the id at the stream's items.id-path: /ref/key for last-item
                    + ("last-item".equals(stream) ? "key-" : "")
                    + stream
                    + "-"
                    + externalId
                    + "-1-' || n from generate_series(0, "
                    + (items - 1)
                    + ") n)"))
        .as("the ids of items 0-" + (items - 1))
        .isEqualTo(items);
  }
}
