package io.quarry.bench;

import io.quarry.outbox.OutboxRepository;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.aopalliance.intercept.MethodInterceptor;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * Where the relay's time goes ({@code -Dbench.outbox.profile=true}): wraps the beans the relay
 * calls (the outbox repository, the RabbitTemplate, the transaction manager) and adds up the time
 * spent in each of their methods on the measured thread only (the relay runs on the caller's thread
 * through {@code direct:}). Production code is untouched; the wrappers cost microseconds per batch.
 */
final class RelayPhases implements BeanPostProcessor {

  private final Map<String, AtomicLong> nanos = new LinkedHashMap<>();
  private final Map<String, AtomicLong> calls = new LinkedHashMap<>();
  private volatile Thread measured;

  RelayPhases() {
    for (String phase :
        new String[] {"begin", "claimDue", "publish (invoke)", "markPublished", "commit"}) {
      nanos.put(phase, new AtomicLong());
      calls.put(phase, new AtomicLong());
    }
  }

  /** Starts counting the calls the given thread makes, from zero. */
  void measure(Thread thread) {
    nanos.values().forEach(v -> v.set(0));
    calls.values().forEach(v -> v.set(0));
    measured = thread;
  }

  void stop() {
    measured = null;
  }

  /** One line: the share of {@code totalNanos} spent in each phase; the rest is confirm waiting. */
  String report(long totalNanos) {
    StringBuilder line = new StringBuilder();
    long accounted = 0;
    for (Map.Entry<String, AtomicLong> phase : nanos.entrySet()) {
      long n = phase.getValue().get();
      accounted += n;
      line.append(
          String.format(
              Locale.ROOT,
              "%s %.2f s (%.0f%%, %d calls, %.1f ms each); ",
              phase.getKey(),
              n / 1e9,
              100.0 * n / totalNanos,
              calls.get(phase.getKey()).get(),
              calls.get(phase.getKey()).get() == 0
                  ? 0.0
                  : n / 1e6 / calls.get(phase.getKey()).get()));
    }
    long rest = totalNanos - accounted;
    line.append(
        String.format(
            Locale.ROOT,
            "rest (awaiting confirms, Camel, loop) %.2f s (%.0f%%)",
            rest / 1e9,
            100.0 * rest / totalNanos));
    return line.toString();
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) {
    if (bean instanceof OutboxRepository) {
      return wrap(
          bean,
          (MethodInterceptor)
              invocation ->
                  switch (invocation.getMethod().getName()) {
                    case "claimDue" -> timed("claimDue", invocation);
                    case "markPublished" -> timed("markPublished", invocation);
                    default -> invocation.proceed();
                  });
    }
    if (bean instanceof RabbitTemplate) {
      return wrap(
          bean,
          (MethodInterceptor)
              invocation ->
                  invocation.getMethod().getName().equals("invoke")
                      ? timed("publish (invoke)", invocation)
                      : invocation.proceed());
    }
    if (bean instanceof PlatformTransactionManager) {
      return wrapInterfaces( // its getTransaction and commit are final: a class proxy would skip
          // them
          bean,
          (MethodInterceptor)
              invocation ->
                  switch (invocation.getMethod().getName()) {
                    case "getTransaction" -> timed("begin", invocation);
                    case "commit" -> timed("commit", invocation);
                    default -> invocation.proceed();
                  });
    }
    return bean;
  }

  private Object timed(String phase, org.aopalliance.intercept.MethodInvocation invocation)
      throws Throwable {
    if (Thread.currentThread() != measured) {
      return invocation.proceed();
    }
    long start = System.nanoTime();
    try {
      return invocation.proceed();
    } finally {
      nanos.get(phase).addAndGet(System.nanoTime() - start);
      calls.get(phase).incrementAndGet();
    }
  }

  private static Object wrapInterfaces(Object bean, MethodInterceptor interceptor) {
    ProxyFactory factory = new ProxyFactory(bean); // every interface of the bean, no subclass
    factory.setProxyTargetClass(false);
    factory.addAdvice(interceptor);
    return factory.getProxy();
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
