package io.quarry.routes.mining;

import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.ChainLoader;
import io.quarry.mining.ChainOutcome;
import io.quarry.mining.MiningChain;
import io.quarry.mining.PageFetcher;
import io.quarry.routes.deadletter.BusErrorHandling;
import org.apache.camel.Exchange;
import org.apache.camel.Predicate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.model.LoopDefinition;
import org.springframework.stereotype.Component;

/**
 * One miner per stream: consumes the stream's mining queue (acknowledged after the route, bounded
 * consumers and prefetch), loops over up to {@code pages-per-message} pages of the user inside one
 * exchange (at most {@code requests-per-second} platform calls per stream), publishes the pages as
 * one data batch to the parser queue or the data topic, then queues the continuation (at once, or
 * in a delay queue after a rate limit) or ends the chain.
 */
@Component
public class MinerRoutes extends RouteBuilder {

  /**
   * A question to the message's chain ({@link ChainLoader#CHAIN}) as a route predicate, named as
   * Hawtio and the route dump show it. A plain predicate, not {@code simple("${exchangeProperty
   * ...method()}")}: that evaluates by reflection on every page and costs a few per cent of the
   * miner's CPU (docs/performance.md).
   */
  private static Predicate chain(String question, java.util.function.Predicate<MiningChain> test) {
    return new Predicate() {
      @Override
      public boolean matches(Exchange exchange) {
        MiningChain chain = exchange.getProperty(ChainLoader.CHAIN, MiningChain.class);
        return chain != null && test.test(chain);
      }

      @Override
      public String toString() {
        return "chain." + question;
      }
    };
  }

  private static final Predicate WANTS_ANOTHER_PAGE =
      chain("wantsAnotherPage()", MiningChain::wantsAnotherPage);
  private static final Predicate HAS_FETCHED_PAGES =
      chain("hasFetchedPages()", MiningChain::hasFetchedPages);
  private static final Predicate STOPPED = chain("stopped()", MiningChain::stopped);
  private static final Predicate DELAYED = chain("delayed()", MiningChain::delayed);

  private final QuarryProperties properties;
  private final BusNames names;
  private final Endpoints endpoints;

  public MinerRoutes(QuarryProperties properties, BusNames names, Endpoints endpoints) {
    this.properties = properties;
    this.names = names;
    this.endpoints = endpoints;
  }

  public static String worker(String stream) {
    return "direct:" + stream + "-miner";
  }

  @Override
  public void configure() {
    var mining = properties.mining();
    properties
        .streams()
        .forEach(
            (stream, config) -> {
              String queue = names.miningQueue(stream);
              BusErrorHandling.consumeQueue(
                  this,
                  endpoints.consume(
                      names.redeliverExchange(), queue, mining.consumers(), mining.prefetch()),
                  queue,
                  stream + "-miner",
                  worker(stream));
              pages(stream, config);
            });
  }

  // @formatter:off
  private void pages(String stream, StreamProperties config) {
    String miningQueue = names.miningQueue(stream);
    String delayQueue = "quarry-amqp:exchange:${header." + ChainOutcome.DELAY_EXCHANGE + "}"
        + "?routingKey=" + miningQueue;
    String dataBatchTo = config.parser()
        ? "quarry-amqp:queue:" + names.parserQueue(stream)
        : "quarry-amqp:exchange:" + names.dataTopic(stream);

    LoopDefinition pages = from(worker(stream))
        .routeId(stream + "-miner-pages")
        .routeConfigurationId(BusErrorHandling.ID)
        .bean(MiningMessageCodec.class, "read").id(stream + "-read-message")
        .bean(ChainLoader.class, "load").id(stream + "-load-chain")
        .choice()
            .when(exchangeProperty(ChainLoader.WAITS_UNTIL).isNotNull())
                .bean(ChainOutcome.class, "waitingAgain").id(stream + "-message-to-wait")
                .toD(delayQueue).id(stream + "-wait-again")
                .stop()
            .when(exchangeProperty(ChainLoader.CHAIN).isNull())
                .stop().id(stream + "-drop-stale")
        .end()
        .loopDoWhile(WANTS_ANOTHER_PAGE);
    if (config.requestsPerSecond() > 0) {
        pages.throttle(config.requestsPerSecond()).totalRequestsMode().timePeriodMillis(1000)
            .id(stream + "-platform-rate");
    }
    pages
            .bean(PageFetcher.class, "fetch").id(stream + "-fetch-page")
        .end()
        .filter(HAS_FETCHED_PAGES)
            .bean(ChainOutcome.class, "dataBatch").id(stream + "-data-batch")
            .to(dataBatchTo).id(stream + "-publish-data-batch")
        .end()
        .choice()
            .when(STOPPED)
                .bean(ChainOutcome.class, "finish").id(stream + "-end-chain")
            .when(DELAYED)
                .bean(ChainOutcome.class, "delayedContinuation").id(stream + "-delayed-continuation")
                .toD(delayQueue).id(stream + "-publish-delayed-continuation")
                .bean(ChainOutcome.class, "progress").id(stream + "-record-delayed-progress")
            .otherwise()
                .bean(ChainOutcome.class, "continuation").id(stream + "-continuation")
                .to("quarry-amqp:queue:" + miningQueue).id(stream + "-publish-continuation")
                .bean(ChainOutcome.class, "progress").id(stream + "-record-progress")
        .end();
  }
  // @formatter:on
}
