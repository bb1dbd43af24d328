# One image recipe for the four services; docker-compose.yml passes the service's project name.
# Build context: the repository root.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG SERVICE
WORKDIR /src
COPY . .
RUN dotnet publish services/DataExchange.${SERVICE}/DataExchange.${SERVICE}.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
ARG SERVICE
ENV DX_SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build /app .
ENV ASPNETCORE_URLS=http://+:8080
# A long-running service: every method JIT-compiled for this machine once, not the framework's precompiled code
# (slower start, less CPU per message; see infra/benchmark-burst.sh).
ENV DOTNET_ReadyToRun=0
EXPOSE 8080
ENTRYPOINT ["sh", "-c", "exec dotnet DataExchange.${DX_SERVICE}.dll"]
