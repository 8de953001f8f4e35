# frozen_string_literal: true

# Ruby Sidekiq's side of the Redis benchmark, modelled on Sidekiq 6.4.1's own bin/sidekiqload:
# a no-op LoadWorker with perform(idx), push_bulk in batches of 10,000, then a Sidekiq::Launcher in this
# same process (concurrency 10, BasicFetch) drains them, and a monitor thread polls LLEN every 0.2 s.
#
#   ruby bench/sidekiq_load.rb [--phase all|bulk|drain|single] [--url redis://127.0.0.1:6379/13]
#                              [--jobs 100000] [--single 10000] [--concurrency 10] [--log-file PATH]
#
# Logs at ERROR, unless --log-file: then Sidekiq's default logging (INFO) goes to that file.
#
# Differences from bin/sidekiqload, all so that the figures compare with the Python systems':
# * no Toxiproxy: Redis on loopback, no added latency; 100,000 jobs rather than 500,000;
# * the clock stops when the last job's perform has returned (a server middleware counts them), not
#   when LLEN first reads 0 (up to 10 jobs may still be running then); the LLEN time is reported too;
# * each phase can run in its own process (bench/redis_bench.py does that), so the peak RSS of a drain
#   (VmHWM) is the drain's own. --phase all does what bin/sidekiqload does, in one process.
# It prints one JSON object per phase on stdout.

$TESTING = false
Warning[:deprecated] = false

require "json"
require "optparse"
require "sidekiq"
require "sidekiq/cli" # server mode, as bin/sidekiqload runs
require "sidekiq/launcher"

# redis-rb 4.8 warns about its 5.0 API on every pipelined call Sidekiq 6.4.1 makes.
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

BATCH = 10_000

# Counts performed jobs across the processor threads and notes when the target-th one finished.
class FinishLine
  attr_reader :finished_at

  def initialize(target)
    @target = target
    @count = 0
    @finished_at = nil
    @lock = Mutex.new
    @done = ConditionVariable.new
  end

  # The first job's start, for the clock that runs from it to the last job's return.
  def start
    @first_started ||= Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  attr_reader :first_started

  def hit
    @lock.synchronize do
      @count += 1
      if @count == @target
        @finished_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        @done.broadcast
      end
    end
  end

  def wait(timeout)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    @lock.synchronize do
      while @finished_at.nil?
        left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
        raise "only #{@count} of #{@target} jobs performed in #{timeout} s" if left <= 0

        @done.wait(@lock, left)
      end
    end
    @finished_at
  end
end

# Server middleware: counts each job whose perform returned. Sidekiq makes one per job, with these args.
class CountPerformed
  def initialize(finish)
    @finish = finish
  end

  def call(_worker, _job, _queue)
    @finish.start
    yield
    @finish.hit
  end
end

class LoadWorker
  include Sidekiq::Worker
  sidekiq_options retry: 1

  def perform(idx, ts = nil); end
end

def now
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

# Peak resident set size of this process so far, in MB.
def peak_rss_mb
  kb = File.read("/proc/self/status")[/^VmHWM:\s+(\d+)/, 1].to_i
  (kb / 1024.0).round(1)
end

def configure(opts)
  if opts[:log_file]
    # Sidekiq's default logging (INFO: a start and a done line per job, its Pretty format), to a file
    # written line by line, as `sidekiq >> file` does (the CLI sets $stdout.sync = true).
    Sidekiq.logger = Sidekiq::Logger.new(File.open(opts[:log_file], "a").tap { |f| f.sync = true })
  else
    Sidekiq.logger.level = Logger::ERROR
  end
  Sidekiq.options[:concurrency] = opts[:concurrency]
  Sidekiq.options[:queues] = ["default"]
  Sidekiq.options[:timeout] = 8
  Sidekiq.average_scheduled_poll_interval = 2
  Sidekiq.redis = {url: opts[:url], size: opts[:concurrency] + 5}
end

def phase_bulk(opts)
  jobs = opts[:jobs]
  started = now
  (0...jobs).step(BATCH) do |first|
    args = Array.new([BATCH, jobs - first].min) { |idx| [first + idx] }
    Sidekiq::Client.push_bulk("class" => LoadWorker, "args" => args)
  end
  {jobs: jobs, seconds: now - started, kind: "push_bulk"}
end

def phase_drain(opts)
  jobs = opts[:jobs]
  finish = FinishLine.new(jobs)
  Sidekiq.server_middleware { |chain| chain.add CountPerformed, finish }
  llen_zero = nil
  started = now
  monitor = Thread.new do
    loop do
      sleep 0.2
      if Sidekiq.redis { |conn| conn.llen("queue:default") }.zero?
        llen_zero = now - started
        break
      end
    end
  end
  launcher = Sidekiq::Launcher.new(Sidekiq.options)
  launcher.run
  seconds = finish.wait(600) - started
  monitor.join
  rss = peak_rss_mb
  launcher.stop
  left = Sidekiq.redis { |conn| conn.llen("queue:default") }
  first_to_last = finish.finished_at - finish.first_started
  {jobs: jobs, seconds: seconds, first_to_last_seconds: first_to_last, llen_zero_seconds: llen_zero,
   left: left, rss_mb: rss, log_level: opts[:log_file] ? "INFO" : "ERROR"}
end

def phase_single(opts)
  count = opts[:single]
  started = now
  count.times { |idx| LoadWorker.perform_async(idx) }
  {jobs: count, seconds: now - started}
end

def emit(result)
  result[:rss_mb] ||= peak_rss_mb
  puts JSON.generate(result)
  $stdout.flush
end

opts = {phase: "all", url: "redis://127.0.0.1:6379/13", jobs: 100_000, single: 10_000, concurrency: 10}
OptionParser.new do |parser|
  parser.on("--phase PHASE", %w[all bulk drain single]) { |v| opts[:phase] = v }
  parser.on("--url URL") { |v| opts[:url] = v }
  parser.on("--jobs N", Integer) { |v| opts[:jobs] = v }
  parser.on("--single N", Integer) { |v| opts[:single] = v }
  parser.on("--concurrency N", Integer) { |v| opts[:concurrency] = v }
  parser.on("--log-file PATH") { |v| opts[:log_file] = v }
end.parse!
configure(opts)

case opts[:phase]
when "bulk" then emit(phase_bulk(opts))
when "drain" then emit(phase_drain(opts))
when "single" then emit(phase_single(opts))
else # bin/sidekiqload in one process: flushdb, push_bulk, drain in the same process, then single pushes
  Sidekiq.redis(&:flushdb)
  emit(phase_bulk(opts))
  emit(phase_drain(opts))
  Sidekiq.redis(&:flushdb)
  emit(phase_single(opts))
  Sidekiq.redis(&:flushdb)
end
