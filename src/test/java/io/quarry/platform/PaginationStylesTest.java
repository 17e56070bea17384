package io.quarry.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.platform.Pagination.Style;
import io.quarry.platform.sim.ApiStyle;
import io.quarry.platform.sim.PlatformSimulator;
import io.quarry.platform.sim.ReceivedRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every pagination style walks a simulated API of that style from the first page to the last: each
 * item read once, in order, the position of every page as the style defines it, and the end of the
 * data where the API says so.
 */
class PaginationStylesTest {

  private static final String PATH = "/users/{userId}/posts";
  private static final String TOKEN = "EAAB-secret-token";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Authentication BEARER =
      new Authentication(TokenPlacement.HEADER, "Authorization", "Bearer", "access_token");

  private static PlatformSimulator simulator;
  private PlatformClient client;

  @BeforeAll
  static void startSimulator() {
    simulator = PlatformSimulator.start(0);
  }

  @AfterAll
  static void stopSimulator() {
    simulator.close();
  }

  @BeforeEach
  void newClient() {
    simulator.reset();
    client = new PlatformClient(PlatformClient.Settings.defaults(simulator.baseUrl()), JSON);
  }

  @AfterEach
  void closeClient() {
    client.close();
  }

  @Test
  void cursorWithCustomParameterNamesAndNoHasMoreFlag() {
    simulator.expectedToken("u1", TOKEN).user("u1").style(ApiStyle.CURSOR_CUSTOM).totalItems(25);
    StreamApi api =
        api(
            "/data",
            paging(Style.CURSOR)
                .pageSize("page_size")
                .cursor("pagination_token")
                .cursorPath("/meta/next_token")
                .hasMore(null));

    List<Page> pages = walk(api, 10);

    assertThat(ids(pages)).containsExactlyElementsOf(expectedIds("u1", 25));
    assertThat(pages).extracting(Page::nextMarker).containsExactly("t10", "t20", null);
    ReceivedRequest last = simulator.user("u1").lastRequest();
    assertThat(last.query())
        .containsEntry("page_size", "10")
        .containsEntry("pagination_token", "t20")
        .doesNotContainKeys("limit", "after");
  }

  @Test
  void nextUrlFromTheBodyIsFollowedAsGivenWithTheTokenStillSent() {
    simulator.expectedToken("u1", TOKEN).user("u1").style(ApiStyle.NEXT_URL).totalItems(30);
    StreamApi api = api("/data", paging(Style.NEXT_URL).nextUrl("/paging/next"));

    List<Page> pages = walk(api, 10);

    assertThat(ids(pages)).containsExactlyElementsOf(expectedIds("u1", 30));
    assertThat(pages.get(0).nextMarker())
        .isEqualTo(simulator.baseUrl() + "/users/u1/posts?limit=10&cursor=10");
    assertThat(pages.get(2).hasMore()).isFalse();
    ReceivedRequest last = simulator.user("u1").lastRequest();
    assertThat(last.authorization()).isEqualTo("Bearer " + TOKEN);
    assertThat(last.query()).containsEntry("cursor", "20").containsEntry("limit", "10");
  }

  @Test
  void aNextUrlThatEchoesTheQueryTokenIsKeptWithoutIt() {
    simulator.expectedToken("u1", TOKEN).user("u1").style(ApiStyle.NEXT_URL).totalItems(15);
    StreamApi api =
        api(
            "/data",
            paging(Style.NEXT_URL).nextUrl("/paging/next"),
            new Authentication(TokenPlacement.QUERY, "Authorization", "", "access_token"));

    List<Page> pages = walk(api, 10);

    assertThat(ids(pages)).hasSize(15);
    assertThat(pages.get(0).nextMarker()).doesNotContain(TOKEN).doesNotContain("access_token");
    assertThat(simulator.user("u1").lastRequest().query()).containsEntry("access_token", TOKEN);
  }

  @Test
  void aNextUrlToAnotherHostIsRefusedAsMalformed() {
    simulator.user("u1").style(ApiStyle.NEXT_URL);
    StreamApi api = api("/data", paging(Style.NEXT_URL).nextUrl("/paging/next"));
    String elsewhere = "http://evil.example/users/u1/posts?cursor=10";

    assertThatThrownBy(() -> client.fetch(api, "u1", TOKEN, 10, elsewhere))
        .isInstanceOf(MalformedResponseException.class)
        .hasMessageContaining("evil.example")
        .hasMessageContaining("not followed");
    String otherPort = "http://127.0.0.1:1/users/u1/posts?cursor=10";
    assertThatThrownBy(() -> client.fetch(api, "u1", TOKEN, 10, otherPort))
        .isInstanceOf(MalformedResponseException.class);
    assertThat(simulator.requests("u1")).isZero();
  }

  @Test
  void nextUrlFromTheLinkHeaderWithABareArrayBody() {
    simulator.expectedToken("u1", TOKEN).user("u1").style(ApiStyle.LINK_HEADER).totalItems(21);
    StreamApi api = api("", paging(Style.LINK_HEADER).pageSize("per_page"));

    List<Page> pages = walk(api, 10);

    assertThat(ids(pages)).containsExactlyElementsOf(expectedIds("u1", 21));
    assertThat(pages).hasSize(3);
    assertThat(pages.get(1).nextMarker()).endsWith("/users/u1/posts?per_page=10&page=3");
    assertThat(pages.get(2).nextMarker()).isNull();
    assertThat(simulator.user("u1").lastRequest().query()).containsEntry("page", "3");
  }

  @Test
  void lastItemIdIsTheCursorAndHasMoreComesFromTheBody() {
    simulator.expectedToken("u1", TOKEN).user("u1").style(ApiStyle.LAST_ITEM).totalItems(20);
    StreamApi api =
        api(
            "/data",
            paging(Style.LAST_ITEM).cursor("starting_after").hasMore("/has_more").field("/id"));

    List<Page> pages = walk(api, 10);

    // 20 items in pages of 10: the second page is full, yet has_more=false ends the data
    assertThat(ids(pages)).containsExactlyElementsOf(expectedIds("u1", 20));
    assertThat(pages).hasSize(2);
    assertThat(pages.get(0).nextMarker()).isEqualTo("posts-u1-1-9");
    assertThat(simulator.user("u1").lastRequest().query())
        .containsEntry("starting_after", "posts-u1-1-9");
  }

  @Test
  void lastItemCursorAndItemIdMayBeNested() {
    simulator.user("u1").style(ApiStyle.LAST_ITEM).totalItems(12);
    StreamApi api =
        new StreamApi(
            PATH,
            "/data",
            "/ref/key",
            paging(Style.LAST_ITEM)
                .cursor("starting_after")
                .hasMore("/has_more")
                .field("/ref/key")
                .build(),
            BEARER);

    List<Page> pages = walk(api, 5);

    assertThat(ids(pages)).containsExactlyElementsOf(expectedIds("u1", 12));
    assertThat(pages.get(0).nextMarker()).isEqualTo("key-posts-u1-1-4");
    assertThat(simulator.user("u1").lastRequest().query())
        .containsEntry("starting_after", "key-posts-u1-1-9");
  }

  @Test
  void aNestedIdThatIsMissingIsMalformed() {
    simulator.user("u1").style(ApiStyle.OFFSET);
    StreamApi api =
        new StreamApi(PATH, "/records", "/ref/nope", paging(Style.OFFSET).build(), BEARER);

    assertThatThrownBy(() -> client.fetch(api, "u1", TOKEN, 10, null))
        .isInstanceOf(MalformedResponseException.class)
        .hasMessageContaining("item 0 has no usable id at '/ref/nope'");
  }

  @Test
  void offsetEndsOnTheTotalFromTheBody() {
    simulator.expectedToken("u1", TOKEN).user("u1").style(ApiStyle.OFFSET).totalItems(30);
    StreamApi api = api("/records", paging(Style.OFFSET).total("/total_count"));

    List<Page> pages = walk(api, 10);

    // 30 = 3 full pages: the total ends the data without asking for an empty fourth page
    assertThat(ids(pages)).containsExactlyElementsOf(expectedIds("u1", 30));
    assertThat(pages).extracting(Page::nextMarker).containsExactly("10", "20", "30");
    assertThat(pages).extracting(Page::hasMore).containsExactly(true, true, false);
    assertThat(simulator.requests("u1")).isEqualTo(3);
    assertThat(simulator.user("u1").lastRequest().query())
        .containsEntry("offset", "20")
        .containsEntry("limit", "10");
  }

  @Test
  void offsetWithoutTotalEndsOnAnEmptyPage() {
    simulator.user("u1").style(ApiStyle.OFFSET).totalItems(20);
    StreamApi api = api("/records", paging(Style.OFFSET));

    List<Page> pages = walk(api, 10);

    assertThat(ids(pages)).containsExactlyElementsOf(expectedIds("u1", 20));
    assertThat(pages).hasSize(3);
    assertThat(pages.get(2).items()).isEmpty();
    assertThat(pages.get(2).hasMore()).isFalse();
  }

  @Test
  void pageNumberEndsOnAShortPage() {
    simulator.expectedToken("u1", TOKEN).user("u1").style(ApiStyle.PAGE_NUMBER).totalItems(25);
    StreamApi api = api("/results", paging(Style.PAGE_NUMBER).pageSize("per_page"));

    List<Page> pages = walk(api, 10);

    assertThat(ids(pages)).containsExactlyElementsOf(expectedIds("u1", 25));
    assertThat(pages).extracting(Page::nextMarker).containsExactly("2", "3", "4");
    assertThat(pages.get(2).hasMore()).isFalse();
    assertThat(simulator.user("u1").lastRequest().query()).containsEntry("page", "3");
  }

  @Test
  void pageNumberEndsOnTheTotal() {
    simulator.user("u1").style(ApiStyle.PAGE_NUMBER).totalItems(20);
    StreamApi api = api("/results", paging(Style.PAGE_NUMBER).pageSize("per_page").total("/total"));

    List<Page> pages = walk(api, 10);

    assertThat(pages).hasSize(2);
    assertThat(ids(pages)).containsExactlyElementsOf(expectedIds("u1", 20));
  }

  @Test
  void bareArrayWithZeroBasedPages() {
    simulator.user("u1").style(ApiStyle.BARE_ARRAY).totalItems(15);
    StreamApi api = api("", paging(Style.PAGE_NUMBER).pageSize("per_page").firstPage(0));

    List<Page> pages = walk(api, 10);

    assertThat(ids(pages)).containsExactlyElementsOf(expectedIds("u1", 15));
    assertThat(pages).extracting(Page::nextMarker).containsExactly("1", "2");
    assertThat(simulator.user("u1").lastRequest().query()).containsEntry("page", "1");
  }

  @Test
  void aPositionOfAnotherStyleIsRefusedBeforeAnyRequest() {
    StreamApi api = api("/records", paging(Style.OFFSET));

    assertThatThrownBy(() -> client.fetch(api, "u1", TOKEN, 10, "m-2"))
        .isInstanceOf(MalformedResponseException.class)
        .hasMessageContaining("is not an offset");
    assertThat(simulator.requests("u1")).isZero();
  }

  @Test
  void theTokenGoesInACustomHeaderOrWithAnotherPrefixOrInACustomQueryParameter() {
    simulator.expectedToken("u1", TOKEN).user("u1").style(ApiStyle.OFFSET).totalItems(3);
    StreamApi apiKey =
        api(
            "/records",
            paging(Style.OFFSET),
            new Authentication(TokenPlacement.HEADER, "X-Api-Key", "", "unused"));
    assertThat(client.fetch(apiKey, "u1", TOKEN, 10, null).items()).hasSize(3);
    ReceivedRequest sent = simulator.user("u1").lastRequest();
    assertThat(sent.apiKey()).isEqualTo(TOKEN);
    assertThat(sent.authorization()).isNull();

    StreamApi codeHost =
        api(
            "/records",
            paging(Style.OFFSET),
            new Authentication(TokenPlacement.HEADER, "Authorization", "token", "unused"));
    assertThat(client.fetch(codeHost, "u1", TOKEN, 10, null).items()).hasSize(3);
    assertThat(simulator.user("u1").lastRequest().authorization()).isEqualTo("token " + TOKEN);

    StreamApi query =
        api(
            "/records",
            paging(Style.OFFSET),
            new Authentication(TokenPlacement.QUERY, "Authorization", "Bearer", "api_key"));
    assertThat(client.fetch(query, "u1", TOKEN, 10, null).items()).hasSize(3);
    sent = simulator.user("u1").lastRequest();
    assertThat(sent.query()).containsEntry("api_key", TOKEN).doesNotContainKey("access_token");
    assertThat(sent.authorization()).isNull();
  }

  @Test
  void cycleDetectionSeesANextUrlThatPointsBack() {
    simulator.user("u1").style(ApiStyle.NEXT_URL).totalItems(50).cycleAtPage(3);
    StreamApi api = api("/data", paging(Style.NEXT_URL).nextUrl("/paging/next"));

    Page first = client.fetch(api, "u1", TOKEN, 10, null);
    Page second = client.fetch(api, "u1", TOKEN, 10, first.nextMarker());
    Page third = client.fetch(api, "u1", TOKEN, 10, second.nextMarker());

    // the chain's marker set sees page 2's URL again: MiningChain stops with MARKER_CYCLE
    assertThat(third.nextMarker()).isEqualTo(first.nextMarker());
  }

  @Test
  void settingsAStyleNeedsAreRefusedNamingTheKey() {
    assertThatThrownBy(() -> paging(Style.NEXT_URL).build())
        .isInstanceOf(InvalidApiSettingException.class)
        .hasMessage("pagination.next-url-path is required by pagination style next-url");
    assertThatThrownBy(() -> paging(Style.CURSOR).cursorPath("paging/next").build())
        .isInstanceOf(InvalidApiSettingException.class)
        .hasMessageStartingWith("pagination.cursor-path is not a JSON Pointer");
    assertThatThrownBy(() -> paging(Style.OFFSET).offset(" ").build())
        .isInstanceOf(InvalidApiSettingException.class)
        .hasMessage("pagination.offset-parameter is required by pagination style offset");
    assertThatThrownBy(
            () -> new StreamApi(PATH, "items", "/id", paging(Style.OFFSET).build(), BEARER))
        .isInstanceOf(InvalidApiSettingException.class)
        .extracting(e -> ((InvalidApiSettingException) e).key())
        .isEqualTo("items.path");
    assertThatThrownBy(
            () -> new Authentication(TokenPlacement.HEADER, "X Api Key", "", "access_token"))
        .isInstanceOf(InvalidApiSettingException.class)
        .hasMessageStartingWith("auth.header must be an HTTP header name");
  }

  @Test
  void linkHeaderFindsTheNextRelationAmongOthers() {
    assertThat(
            LinkHeader.next(
                "<https://api.example.com/r?page=1>; rel=\"prev\", "
                    + "<https://api.example.com/r?page=3>; rel=\"next\", "
                    + "<https://api.example.com/r?page=9>; rel=\"last\""))
        .isEqualTo("https://api.example.com/r?page=3");
    assertThat(LinkHeader.next("<https://a/r?page=2>; title=\"x\"; rel=\"next last\""))
        .isEqualTo("https://a/r?page=2");
    assertThat(LinkHeader.next("<https://a/r?page=9>; rel=\"last\"")).isNull();
    assertThat(LinkHeader.next(null)).isNull();
  }

  private List<Page> walk(StreamApi api, int limit) {
    List<Page> pages = new ArrayList<>();
    String position = null;
    do {
      Page page = client.fetch(api, "u1", TOKEN, limit, position);
      pages.add(page);
      position = page.hasMore() ? page.nextMarker() : null;
    } while (position != null && pages.size() < 50);
    return pages;
  }

  private static List<String> ids(List<Page> pages) {
    return pages.stream()
        .flatMap(page -> page.items().stream())
        .map(item -> item.get("id"))
        .map(JsonNode::asText)
        .toList();
  }

  private static List<String> expectedIds(String user, int total) {
    return IntStream.range(0, total).mapToObj(i -> "posts-" + user + "-1-" + i).toList();
  }

  private static StreamApi api(String items, PagingBuilder paging) {
    return api(items, paging, BEARER);
  }

  private static StreamApi api(String items, PagingBuilder paging, Authentication auth) {
    return new StreamApi(PATH, items, "/id", paging.build(), auth);
  }

  private static PagingBuilder paging(Style style) {
    return new PagingBuilder(style);
  }

  /** The defaults a stream gets, changed one setting at a time. */
  private static final class PagingBuilder {
    private final Style style;
    private String pageSize = "limit";
    private String cursor = "after";
    private String cursorPath = "/nextMarker";
    private String hasMore = "/hasMore";
    private String nextUrl;
    private String field = "/id";
    private String offset = "offset";
    private String page = "page";
    private int firstPage = 1;
    private String total;

    PagingBuilder(Style style) {
      this.style = style;
    }

    PagingBuilder pageSize(String name) {
      pageSize = name;
      return this;
    }

    PagingBuilder cursor(String name) {
      cursor = name;
      return this;
    }

    PagingBuilder cursorPath(String pointer) {
      cursorPath = pointer;
      return this;
    }

    PagingBuilder hasMore(String pointer) {
      hasMore = pointer;
      return this;
    }

    PagingBuilder nextUrl(String pointer) {
      nextUrl = pointer;
      return this;
    }

    PagingBuilder field(String pointer) {
      field = pointer;
      return this;
    }

    PagingBuilder offset(String name) {
      offset = name;
      return this;
    }

    PagingBuilder firstPage(int number) {
      firstPage = number;
      return this;
    }

    PagingBuilder total(String pointer) {
      total = pointer;
      return this;
    }

    Pagination build() {
      return new Pagination(
          style,
          pageSize,
          cursor,
          cursorPath,
          hasMore,
          nextUrl,
          field,
          offset,
          page,
          firstPage,
          total);
    }
  }
}
