package io.quarry.bench;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.mining.MiningStateRepository;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.beans.factory.config.BeanPostProcessor;

/**
 * Where a scheduler tick's time goes: wraps the beans {@code MiningScheduler} calls and notes, on
 * the measured thread only (the tick runs on the caller's thread through {@code direct:}), how long
 * opening the run record, the claims and publishing took: the whole {@code
 * BatchPublisher.publishAll} (sending and waiting for the confirms), and of it the sending, read
 * from the publisher's own {@value BatchPublisher#BATCH_TIMER} timer ({@code phase=send}; only the
 * measured tick publishes while it runs). Production code is untouched; the wrappers cost
 * microseconds per batch.
 *
 * <p>The read is the time before each claim since the previous call of the repository or the
 * publisher ended: the route's camel-sql query of a page of active users, its rows as maps and the
 * ids taken out of them, added up over every page the tick read.
 */
final class FanoutPhases implements BeanPostProcessor {

  /** One tick, in nanoseconds. */
  record Split(
      long total,
      long startRun,
      long read,
      long reads,
      long claim,
      long claims,
      long publish,
      long send,
      long publishCalls,
      long finishRun) {

    long awaitConfirms() {
      return publish - send;
    }

    long rest() {
      return total - startRun - read - claim - publish - finishRun;
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "open run %.2f s, read %.2f s (%d queries), claim %.2f s (%d statements), publish %.2f s"
              + " (%d confirmed batches: send %.2f s, await confirms %.2f s), close run %.2f s,"
              + " rest (messages, Camel) %.2f s",
          startRun / 1e9,
          read / 1e9,
          reads,
          claim / 1e9,
          claims,
          publish / 1e9,
          publishCalls,
          send / 1e9,
          awaitConfirms() / 1e9,
          finishRun / 1e9,
          rest() / 1e9);
    }
  }

  private volatile Thread measured;
  private MeterRegistry metrics;
  private double sendTotalBefore;
  private long startRun;
  private long lastEnd;
  private long read;
  private long reads;
  private long claim;
  private long claims;
  private long publish;
  private long send;
  private long publishCalls;
  private long finishRun;

  /** The registry the publisher records its batch timer in (the context's MeterRegistry). */
  void readSendTimeFrom(MeterRegistry registry) {
    metrics = registry;
  }

  void measure(Thread thread) {
    startRun = 0;
    read = 0;
    reads = 0;
    claim = 0;
    claims = 0;
    publish = 0;
    send = 0;
    publishCalls = 0;
    finishRun = 0;
    sendTotalBefore = sendTotal();
    measured = thread;
  }

  Split stop(long totalNanos) {
    measured = null;
    send = Math.round(sendTotal() - sendTotalBefore);
    return new Split(
        totalNanos, startRun, read, reads, claim, claims, publish, send, publishCalls, finishRun);
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) {
    if (bean instanceof MiningStateRepository) {
      return wrap(
          bean,
          invocation -> {
            if (Thread.currentThread() != measured) {
              return invocation.proceed();
            }
            long start = System.nanoTime();
            try {
              return invocation.proceed();
            } finally {
              long end = System.nanoTime();
              long previousEnd = lastEnd;
              lastEnd = end;
              switch (invocation.getMethod().getName()) {
                case "startRun" -> startRun += end - start;
                case "claim" -> {
                  claim += end - start;
                  claims++;
                  read += start - previousEnd;
                  reads++;
                }
                case "finishRun" -> finishRun += end - start;
                default -> {}
              }
            }
          });
    }
    if (bean instanceof BatchPublisher) {
      return wrap(
          bean,
          invocation -> {
            if (Thread.currentThread() != measured
                || !invocation.getMethod().getName().equals("publishAll")) {
              return invocation.proceed();
            }
            return timed(invocation);
          });
    }
    return bean;
  }

  /** Nanoseconds the publisher has spent sending batches so far. */
  private double sendTotal() {
    Timer timer = metrics.find(BatchPublisher.BATCH_TIMER).tag("phase", "send").timer();
    return timer == null ? 0 : timer.totalTime(TimeUnit.NANOSECONDS);
  }

  private Object timed(MethodInvocation invocation) throws Throwable {
    long start = System.nanoTime();
    try {
      return invocation.proceed();
    } finally {
      lastEnd = System.nanoTime();
      publish += lastEnd - start;
      publishCalls++;
    }
  }

  private static Object wrap(Object bean, MethodInterceptor interceptor) {
    if (bean instanceof Advised advised && !advised.isFrozen()) {
      advised.addAdvice(0, interceptor);
      return bean;
    }
    ProxyFactory factory = new ProxyFactory(bean);
    factory.setProxyTargetClass(true);
    factory.addAdvice(interceptor);
    return factory.getProxy();
  }
}
