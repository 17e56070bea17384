package io.quarry.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarry.config.QuarryProperties;
import io.quarry.message.DataBatch;
import io.quarry.message.InvalidMessageException;
import io.quarry.notification.EmailRepository;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.user.UserRepository;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The data-topic subscribers' work called directly, as a redelivery would call it again: every item
 * stored once, every page counted once (however a redelivery groups the pages into batches), one
 * digest per user and run, also across instances.
 */
@QuarryIntegrationTest
class SubscribersIT {

  @Autowired Subscribers subscribers;
  @Autowired RawItemRepository rawItems;
  @Autowired UserRepository users;
  @Autowired EmailRepository emails;
  @Autowired JdbcClient jdbc;
  @Autowired TransactionTemplate transaction;
  @Autowired QuarryProperties properties;
  @Autowired DataBatchCodec codec;

  /** The batch as a subscriber receives it: written as the miner writes it, read back. */
  private ReceivedBatch received(DataBatch batch) {
    var message = codec.write(batch);
    return codec.readReceived(
        message.getBody(), message.getMessageProperties().getContentEncoding());
  }

  @Test
  void aBatchRedeliveredIsStoredAndCountedOnce() {
    long user = users.upsert("subscribers-it-1", "token");
    UUID run = UUID.randomUUID();
    // 20 items three hours apart: 3 or 4 days
    DataBatch batch = DataBatch.of("posts", user, run, 1, items("a", 20, 3));
    for (int i = 0; i < 3; i++) {
      subscribers.rawStorage(received(batch));
      subscribers.analytics(received(batch));
    }
    assertThat(count("select count(*) from raw_item where user_id = " + user)).isEqualTo(20);
    assertThat(count("select sum(items) from analytics_daily where user_id = " + user))
        .isEqualTo(20);
    assertThat(count("select count(*) from analytics_daily where user_id = " + user))
        .isGreaterThan(1);
    Map<String, Object> day =
        jdbc.sql(
                "select day::text as day, items from analytics_daily where user_id = :u"
                    + " and day = date '2025-03-01'")
            .param("u", user)
            .query()
            .singleRow();
    // 12:00, 09:00, 06:00, 03:00 and 00:00 of that day
    assertThat(((Number) day.get("items")).longValue()).isEqualTo(5);

    // the next page of the same run adds to the same days
    DataBatch next = DataBatch.of("posts", user, run, 2, items("b", 20, 3));
    subscribers.rawStorage(received(next));
    subscribers.analytics(received(next));
    subscribers.analytics(received(next));
    assertThat(count("select count(*) from raw_item where user_id = " + user)).isEqualTo(40);
    assertThat(count("select sum(items) from analytics_daily where user_id = " + user))
        .isEqualTo(40);
  }

  @Test
  void pagesRegroupedByARedeliveryAreCountedOncePerPage() {
    long user = users.upsert("subscribers-it-7", "token");
    UUID run = UUID.randomUUID();
    // the first attempt of a mining message published page 1 alone (version 1, as before)...
    DataBatch v1 = DataBatch.of("posts", user, run, 1, items("r1", 4, 1));
    subscribers.rawStorage(received(v1));
    subscribers.analytics(received(v1));
    // ...another attempt got pages 1 and 2 (a 429 cut it), the one that finished pages 1 to 4
    DataBatch cut = batch(user, run, 1, 2);
    DataBatch whole = batch(user, run, 1, 4);
    for (DataBatch batch : List.of(cut, whole, whole, cut)) {
      subscribers.rawStorage(received(batch));
      subscribers.analytics(received(batch));
    }
    assertThat(count("select count(*) from raw_item where user_id = " + user)).isEqualTo(16);
    assertThat(count("select sum(items) from analytics_daily where user_id = " + user))
        .isEqualTo(16);
    // the next message's batch (pages 5 and 6) counts its own pages, also when a page has no items
    DataBatch next =
        DataBatch.of(
            "posts",
            user,
            run,
            List.of(
                new DataBatch.PageItems(5, items("r5", 4, 1)),
                new DataBatch.PageItems(6, List.of())));
    subscribers.analytics(received(next));
    subscribers.analytics(received(next));
    assertThat(count("select sum(items) from analytics_daily where user_id = " + user))
        .isEqualTo(20);
    assertThat(
            count(
                "select count(*) from processed_message where processor = 'analytics'"
                    + " and message_id like '"
                    + run
                    + ":"
                    + user
                    + ":posts:%'"))
        .isEqualTo(6);
  }

  /** Pages first..last of a run, 4 items each ({@code r<page>-<i>}), one hour apart. */
  private static DataBatch batch(long user, UUID run, int first, int last) {
    List<DataBatch.PageItems> pages = new ArrayList<>();
    for (int page = first; page <= last; page++) {
      pages.add(new DataBatch.PageItems(page, items("r" + page, 4, 1)));
    }
    return DataBatch.of("posts", user, run, pages);
  }

  @Test
  void aBatchWithoutDatesIsMarkedProcessedAndCountsNothing() {
    long user = users.upsert("subscribers-it-2", "token");
    List<JsonNode> undated = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      undated.add(JsonNodeFactory.instance.objectNode().put("id", "undated-" + i));
    }
    DataBatch batch = DataBatch.of("posts", user, UUID.randomUUID(), 1, undated);
    subscribers.rawStorage(received(batch));
    subscribers.analytics(received(batch));
    assertThat(count("select count(*) from raw_item where user_id = " + user)).isEqualTo(3);
    assertThat(count("select count(*) from raw_item where item_day is null and user_id = " + user))
        .isEqualTo(3);
    assertThat(count("select count(*) from analytics_daily where user_id = " + user)).isZero();
    assertThat(
            count(
                "select count(*) from processed_message where processor = 'analytics'"
                    + " and message_id = '"
                    + batch.batchId()
                    + "'"))
        .isEqualTo(1);
  }

  @Test
  void anItemTwiceInOneBatchIsStoredOnce() {
    long user = users.upsert("subscribers-it-3", "token");
    List<JsonNode> items = new ArrayList<>(items("c", 2, 1));
    items.add(items.get(0));
    subscribers.rawStorage(received(DataBatch.of("posts", user, UUID.randomUUID(), 1, items)));
    assertThat(count("select count(*) from raw_item where user_id = " + user)).isEqualTo(2);
  }

  @Test
  void aFirstRunsBatchIsInsertedWithoutLookUpsAndItsRedeliveryStoresNothingTwice() {
    long user = users.upsert("subscribers-it-17", "token");
    UUID run = UUID.randomUUID();
    DataBatch firstRun =
        DataBatch.of(
            "posts", user, run, List.of(new DataBatch.PageItems(1, items("n", 4, 1))), false);
    subscribers.rawStorage(received(firstRun));
    // redelivered, also regrouped with a next page: stored before by this run, not twice
    subscribers.rawStorage(received(firstRun));
    List<JsonNode> withDuplicate = new ArrayList<>(items("m", 3, 1));
    withDuplicate.add(withDuplicate.get(0));
    subscribers.rawStorage(
        received(
            DataBatch.of(
                "posts",
                user,
                run,
                List.of(
                    new DataBatch.PageItems(1, items("n", 4, 1)),
                    new DataBatch.PageItems(2, withDuplicate)),
                false)));
    assertThat(count("select count(*) from raw_item where user_id = " + user)).isEqualTo(7);

    long deleted = users.upsert("subscribers-it-18", "token");
    ReceivedBatch ofDeleted =
        received(
            DataBatch.of(
                "posts",
                deleted,
                run,
                List.of(new DataBatch.PageItems(1, items("o", 2, 1))),
                false));
    jdbc.sql("delete from app_user where id = :u").param("u", deleted).update();
    assertThatThrownBy(() -> subscribers.rawStorage(ofDeleted))
        .isInstanceOf(InvalidMessageException.class)
        .hasMessage("user " + deleted + " no longer exists: its posts items are not stored");
  }

  @ParameterizedTest(name = "earlier items: {0}")
  @ValueSource(booleans = {true, false})
  void itemsAnotherConsumerCommitsMeanwhileAreLeftToIt(boolean earlierItems) throws Exception {
    long user = users.upsert("subscribers-it-8-" + earlierItems, "token");
    ReceivedBatch batch =
        received(
            DataBatch.of(
                "posts",
                user,
                UUID.randomUUID(),
                List.of(new DataBatch.PageItems(1, items("h", 5, 1))),
                earlierItems));
    CountDownLatch otherStored = new CountDownLatch(1);
    CountDownLatch otherMayCommit = new CountDownLatch(1);
    ExecutorService consumers = Executors.newFixedThreadPool(2);
    try {
      // another consumer (a redelivered batch) has stored one of the items, not committed yet
      Future<?> other =
          consumers.submit(
              () ->
                  transaction.executeWithoutResult(
                      status -> {
                        jdbc.sql(
                                "insert into raw_item (user_id, stream, item_id, item)"
                                    + " values (:user, 'posts', 'h-2', '{\"other\": true}')")
                            .param("user", user)
                            .update();
                        otherStored.countDown();
                        awaitLatch(otherMayCommit);
                      }));
      assertThat(otherStored.await(10, TimeUnit.SECONDS)).isTrue();
      Future<?> mine = consumers.submit(() -> subscribers.rawStorage(batch));
      // this statement saw no h-2 (not committed), inserted it and now waits on its key
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  count(
                          "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                              + " and datname = current_database()"
                              + " and query like '%insert into raw_item%for key share%'")
                      == 1);
      otherMayCommit.countDown();
      other.get(10, TimeUnit.SECONDS);
      mine.get(10, TimeUnit.SECONDS);
    } finally {
      otherMayCommit.countDown();
      consumers.shutdownNow();
    }
    assertThat(count("select count(*) from raw_item where user_id = " + user)).isEqualTo(5);
    assertThat(
            jdbc.sql("select item ->> 'other' from raw_item where user_id = :u and item_id = 'h-2'")
                .param("u", user)
                .query(String.class)
                .single())
        .isEqualTo("true");
  }

  @Test
  void deletingAUserDeletesItsItemsAndItsIdNeverChanges() {
    long user = users.upsert("subscribers-it-9", "token");
    long other = users.upsert("subscribers-it-10", "token");
    subscribers.rawStorage(
        received(DataBatch.of("posts", user, UUID.randomUUID(), 1, items("i", 3, 1))));
    subscribers.rawStorage(
        received(DataBatch.of("posts", other, UUID.randomUUID(), 1, items("i", 2, 1))));
    assertThatThrownBy(
            () ->
                jdbc.sql("update app_user set id = id + 1000000 where id = :u")
                    .param("u", user)
                    .update())
        .isInstanceOf(DataIntegrityViolationException.class)
        .hasMessageContaining("app_user.id cannot change");

    jdbc.sql("delete from app_user where id = :u").param("u", user).update();

    assertThat(count("select count(*) from raw_item where user_id = " + user)).isZero();
    assertThat(count("select count(*) from raw_item where user_id = " + other)).isEqualTo(2);
  }

  @Test
  void aBatchOfAUserDeletedSinceIsRefusedAsInvalidAndStoresOrCountsNothing() {
    long user = users.upsert("subscribers-it-11", "token");
    ReceivedBatch batch =
        received(DataBatch.of("posts", user, UUID.randomUUID(), 1, items("j", 3, 1)));
    jdbc.sql("delete from app_user where id = :u").param("u", user).update();

    assertThatThrownBy(() -> subscribers.rawStorage(batch))
        .isInstanceOf(InvalidMessageException.class)
        .hasMessage("user " + user + " no longer exists: its posts items are not stored");
    assertThat(count("select count(*) from raw_item where user_id = " + user)).isZero();
    assertThatThrownBy(() -> subscribers.analytics(batch))
        .isInstanceOf(InvalidMessageException.class)
        .hasMessage("user " + user + " no longer exists: its posts items are not counted");
    assertThat(count("select count(*) from analytics_daily where user_id = " + user)).isZero();
  }

  private static void awaitLatch(CountDownLatch latch) {
    try {
      if (!latch.await(20, TimeUnit.SECONDS)) {
        throw new IllegalStateException("not released in time");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Test
  void oneDigestPerUserAndRunAlsoAcrossInstances() {
    long user = users.upsert("subscribers-it-4", "token");
    users.setEmail(user, "digest-4@example.org");
    long nobody = users.upsert("subscribers-it-5", "token");
    UUID run = UUID.randomUUID();
    Subscribers otherInstance = new Subscribers(rawItems, jdbc, transaction, emails);
    for (int page = 1; page <= 5; page++) {
      subscribers.notification(received(DataBatch.of("posts", user, run, page, items("d", 1, 1))));
      otherInstance.notification(
          received(DataBatch.of("posts", user, run, page, items("d", 1, 1))));
      subscribers.notification(
          received(DataBatch.of("posts", nobody, run, page, items("e", 1, 1))));
    }
    assertThat(count("select count(*) from email where user_id = " + user)).isEqualTo(1);
    assertThat(count("select count(*) from email where user_id = " + nobody)).isZero();

    subscribers.notification(
        received(DataBatch.of("posts", user, UUID.randomUUID(), 1, items("d", 1, 1))));
    assertThat(count("select count(*) from email where user_id = " + user)).isEqualTo(2);
  }

  @Test
  void onlyItemsStoredBeforeTheChainBeganCountAsStoredBefore() {
    long user = users.upsert("subscribers-it-6", "token");
    subscribers.rawStorage(
        received(DataBatch.of("posts", user, UUID.randomUUID(), 1, items("f", 3, 1))));
    Instant chainBegan = jdbc.sql("select clock_timestamp()").query(Instant.class).single();
    // The chain's own items (stored by its run, or by an earlier run of the chain it resumed).
    subscribers.rawStorage(
        received(DataBatch.of("posts", user, UUID.randomUUID(), 1, items("g", 3, 1))));
    assertThat(rawItems.allStoredBefore(user, "posts", chainBegan, List.of("f-0", "f-1", "f-2")))
        .isTrue();
    assertThat(rawItems.allStoredBefore(user, "posts", chainBegan, List.of("f-0", "f-0"))).isTrue();
    assertThat(rawItems.allStoredBefore(user, "posts", chainBegan, List.of("f-0", "g-1")))
        .isFalse();
    assertThat(rawItems.allStoredBefore(user, "posts", chainBegan, List.of("f-0", "new")))
        .isFalse();
    assertThat(rawItems.allStoredBefore(user, "posts", chainBegan, List.of("g-0"))).isFalse();
    assertThat(rawItems.allStoredBefore(user, "ads", chainBegan, List.of("f-0"))).isFalse();
  }

  /** Items like the simulator's: newest first, {@code hours} apart from 2025-03-01 12:00 UTC. */
  private static List<JsonNode> items(String prefix, int count, int hours) {
    List<JsonNode> items = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ObjectNode item = JsonNodeFactory.instance.objectNode();
      item.put("id", prefix + "-" + i);
      item.put(
          "createdAt",
          java.time.Instant.parse("2025-03-01T12:00:00Z")
              .minus(java.time.Duration.ofHours((long) hours * i))
              .toString());
      items.add(item);
    }
    return items;
  }

  private long count(String sql) {
    Long value = jdbc.sql(sql).query(Long.class).single();
    return value == null ? 0 : value;
  }
}
